# The paper's Table 3(b): OSP's pruning strength from 1.0 down to 0.2 at
# ratio 0.05 on the orthogonal ResNet-18, CIFAR-10, forgetting class 1:
# accuracy on the forgotten class and on the others.
#
#   lethe run    experiments/table3b.hcl               # paper scale: GPU
#   lethe run    experiments/table3b.hcl -var scale=ci # CIFAR-10 subset, minutes on a CPU
#   lethe report experiments/table3b.hcl
#
# docs/experiments.md says what each scale runs and what to expect. The
# recipe below (locals) is the same in every experiments/*.hcl, so the
# trained models are cached once and shared by all of them.

experiment "table3b" {
  title       = "Table 3(b): pruning strength"
  description = "OSP at strengths 1.0-0.2 and ratio 0.05 on the orthogonal ResNet-18, CIFAR-10, class 1 (at CI scale: a CIFAR-10 subset and a narrow ResNet-18)."
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


unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = local.forget
  ratio  = 0.05
  sweep {
    strength = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
  }
}

# The model before pruning: the row without a strength.
evaluate "original" {
  models  = train.ortho
  forget  = local.forget
  metrics = ["acc_forget", "acc_retain"]
}

evaluate "osp" {
  models  = unlearn.osp
  metrics = ["acc_forget", "acc_retain", "time"]
}

report "table3b" {
  from      = [evaluate.original, evaluate.osp]
  title     = "Table 3(b): pruning strength, orthogonal ResNet-18 (CIFAR-10, class 1, ratio 0.05)"
  rows      = ["strength"]
  columns   = ["model"]
  values    = ["acc_forget", "acc_retain"]
  precision = 2
  paper     = "table3b"
}
