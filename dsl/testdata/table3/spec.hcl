experiment "table3" {
  title = "Soft pruning ratio, ResNet-18 on CIFAR-10"
  seeds = [0, 1, 2] # replicate axis over the whole experiment
}

variable "epochs" {
  type    = number
  default = 30
}

dataset "cifar10" {
  kind = "cifar10"
  path = "${var.data}/cifar-10-batches-bin"
}

train "ortho" {
  dataset      = dataset.cifar10
  arch         = "resnet18"
  epochs       = var.epochs
  optimizer    = { name = "sgd", lr = 0.1, momentum = 0.9, weight_decay = 5e-4 }
  schedule     = { name = "cosine" }
  ortho_lambda = 1e-4
}

train "plain" {
  dataset      = dataset.cifar10
  arch         = "resnet18"
  epochs       = var.epochs
  optimizer    = { name = "sgd", lr = 0.1, momentum = 0.9, weight_decay = 5e-4 }
  schedule     = { name = "cosine" }
  ortho_lambda = 0
}

unlearn "osp" {
  model  = [train.ortho, train.plain] # list-valued references fan out
  method = "osp"
  forget = [0]
  sweep {
    ratio    = [0.01, 0.02, 0.03, 0.04, 0.05]
    strength = [0.4]
  }
}

unlearn "baselines" {
  model  = train.ortho
  method = ["retrain", "ssd", "emni", "tfidf"]
  forget = [0]
}

evaluate "all" {
  models  = [unlearn.osp, unlearn.baselines]
  metrics = ["acc_forget", "acc_retain", "mia", "time"]
}

report "table3a" {
  from    = evaluate.all
  rows    = ["ratio"]
  columns = ["model"]
  values  = ["acc_forget", "acc_retain"]
}
