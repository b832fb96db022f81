# The paper's Table 3(a): OSP's pruning ratio from 0.01 to 0.05 on the
# orthogonal and the original (plain) ResNet-18, CIFAR-10, forgetting class
# 1 at strength 0.4: accuracy on the forgotten class and on the others.
#
#   lethe run    experiments/table3a.hcl               # paper scale: GPU
#   lethe run    experiments/table3a.hcl -var scale=ci # CIFAR-10 subset, minutes on a CPU
#   lethe report experiments/table3a.hcl
#
# docs/experiments.md says what each scale runs and what to expect. The
# recipe below (locals) is the same in every experiments/*.hcl, so the
# trained models are cached once and shared by all of them.

experiment "table3a" {
  title       = "Table 3(a): pruning ratio, orthogonal vs original model"
  description = "OSP at ratios 0.01-0.05 and strength 0.4 on the orthogonal and the plain ResNet-18, CIFAR-10, class 1 (at CI scale: a CIFAR-10 subset and a narrow ResNet-18)."
  seeds       = [0]
}

variable "scale" {
  type        = string
  default     = "paper"
  description = "paper: the paper's datasets, architectures and a full training recipe (GPU); ci: a CIFAR-10 subset, a narrow ResNet-18 and three epochs (minutes on a CPU)"
  validation {
    condition     = contains(["paper", "ci"], var.scale)
    error_message = "The scale is \"paper\" or \"ci\"."
  }
}

locals {
  ci = var.scale == "ci"

  # The paper states no training recipe: this is the standard CIFAR one
  # (its Retrain times fit about 200 epochs on a TITAN Xp). CI scale keeps
  # it but trains three epochs of a ResNet-18 at 1/8 width.
  epochs       = local.ci ? 3 : 200
  width        = local.ci ? 0.125 : 1
  batch_size   = local.ci ? 64 : 128
  optimizer    = { name = "sgd", lr = local.ci ? 0.05 : 0.1, momentum = 0.9, weight_decay = 5e-4 }
  schedule     = { name = "cosine" }
  ortho_lambda = 1e-4 # λ is not in the paper; osp_ablation.hcl sweeps it

  train_per_class = local.ci ? 250 : 0 # 0: all
  test_per_class  = local.ci ? 100 : 0

  # CIFAR-10's class 1 (automobile) is the class the paper's CIFAR-10
  # numbers forget (see paper.Describe).
  forget = [1]
}

dataset "cifar10" {
  kind            = "cifar10"
  path            = "${var.data}/cifar10/cifar-10-jpeg.tar.gz"
  train_per_class = local.train_per_class
  test_per_class  = local.test_per_class
}

train "ortho" {
  dataset      = dataset.cifar10
  arch         = "resnet18"
  width        = local.width
  epochs       = local.epochs
  batch_size   = local.batch_size
  optimizer    = local.optimizer
  schedule     = local.schedule
  ortho_lambda = local.ortho_lambda
}

train "plain" {
  dataset      = dataset.cifar10
  arch         = "resnet18"
  width        = local.width
  epochs       = local.epochs
  batch_size   = local.batch_size
  optimizer    = local.optimizer
  schedule     = local.schedule
  ortho_lambda = 0
}

unlearn "osp" {
  model    = [train.ortho, train.plain]
  method   = "osp"
  forget   = local.forget
  strength = 0.4
  sweep {
    ratio = [0.01, 0.02, 0.03, 0.04, 0.05]
  }
}

# The models before pruning: the rows without a ratio.
evaluate "original" {
  models  = [train.ortho, train.plain]
  forget  = local.forget
  metrics = ["acc_forget", "acc_retain"]
}

evaluate "osp" {
  models  = unlearn.osp
  metrics = ["acc_forget", "acc_retain", "time"]
}

report "table3a" {
  from      = [evaluate.original, evaluate.osp]
  title     = "Table 3(a): pruning ratio, orthogonal vs original ResNet-18 (CIFAR-10, class 1, strength 0.4)"
  rows      = ["ratio"]
  columns   = ["model"]
  values    = ["acc_forget", "acc_retain"]
  precision = 2
  paper     = "table3a"
}
