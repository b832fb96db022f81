# The paper's Appendix A: forget every CIFAR-10 class in turn from the
# orthogonal ResNet-18, ResNet-50 and VGG-16 with OSP (one pass, ratio
# 0.05, strength 0.4), then fine-tune the pruned model briefly on the
# retained classes: accuracy on the forgotten class and on the others of
# the raw, the pruned and the fine-tuned model, and the fine-tuning's time.
#
#   lethe run    experiments/appendix_a.hcl               # paper scale: GPU
#   lethe run    experiments/appendix_a.hcl -var scale=ci # CIFAR-10 subset, minutes on a CPU
#   lethe report experiments/appendix_a.hcl
#
# docs/experiments.md says what each scale runs and what to expect. The
# recipe below (locals) is the same in every experiments/*.hcl, so the
# trained models are cached once and shared by all of them.

experiment "appendix_a" {
  title       = "Appendix A: every CIFAR-10 class, pruned then fine-tuned"
  description = "OSP on each CIFAR-10 class in turn, then a short fine-tuning, on the orthogonal ResNet-18, ResNet-50 and VGG-16 (at CI scale: a CIFAR-10 subset and a narrow ResNet-18)."
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

  # Every class in turn, the paper's Appendix A.
  classes = [for c in range(10) : [c]]
  archs   = local.ci ? ["resnet18"] : ["resnet18", "resnet50", "vgg16_bn"]
}

dataset "cifar10" {
  kind            = "cifar10"
  path            = "${var.data}/cifar10/cifar-10-jpeg.tar.gz"
  train_per_class = local.train_per_class
  test_per_class  = local.test_per_class
}

train "ortho" {
  dataset      = dataset.cifar10
  arch         = local.archs
  width        = local.width
  epochs       = local.epochs
  batch_size   = local.batch_size
  optimizer    = local.optimizer
  schedule     = local.schedule
  ortho_lambda = local.ortho_lambda
}

# The raw model, split into the forgotten class and the others for each
# class in turn.
evaluate "original" {
  models  = train.ortho
  metrics = ["acc_forget", "acc_retain"]
  sweep {
    forget = local.classes
  }
}

unlearn "pruned" {
  model    = train.ortho
  method   = "osp"
  ratio    = 0.05
  strength = 0.4
  sweep {
    forget = local.classes
  }
}

# "A brief fine-tuning period of only 3 to 5 epochs" on the retained
# classes; the chained block keeps each pruned model's forget class, and
# its time is the fine-tuning's, as the paper's Time column reads.
unlearn "finetuned" {
  model  = unlearn.pruned
  method = "finetune"
  epochs = local.ci ? 1 : 5
}

evaluate "unlearned" {
  models  = [unlearn.pruned, unlearn.finetuned]
  metrics = ["acc_forget", "acc_retain", "time"]
}

report "appendix_a" {
  from      = [evaluate.original, evaluate.unlearned]
  title     = "Appendix A: every CIFAR-10 class, raw, pruned (OSP) and fine-tuned"
  rows      = ["arch", "forget"]
  columns   = ["method"]
  values    = ["acc_forget", "acc_retain", "time"]
  precision = 2
  paper     = "appendix_a"
}
