# Quickstart: forget one MNIST digit with Orthogonal Soft Pruning and compare
# it with the paper's baselines. Everything is small (a narrow SmallCNN, two
# epochs, 1,000 training images per digit, one seed) so that the whole spec
# runs in a few minutes on a laptop CPU.
#
#   lethe validate experiments/quickstart.hcl
#   lethe graph    experiments/quickstart.hcl
#   lethe validate experiments/quickstart.hcl -var epochs=5 -var 'forget=[3]'

experiment "quickstart" {
  title       = "Orthogonal Soft Pruning on MNIST (SmallCNN)"
  description = "Orthogonal vs plain training, an OSP pruning-ratio sweep, and the paper's baselines."
  seeds       = [0]
}

variable "epochs" {
  type        = number
  default     = 3
  description = "training epochs of both models (and of retraining)"
  validation {
    condition     = var.epochs >= 1
    error_message = "Train for at least one epoch."
  }
}

variable "forget" {
  type        = list(number)
  default     = [0]
  description = "the digits to forget"
  validation {
    condition     = length(var.forget) >= 1 && length(var.forget) < 10
    error_message = "Forget at least one digit and keep at least one."
  }
}

locals {
  # One recipe for both models, so that they differ only in ortho_lambda.
  optimizer = { name = "sgd", lr = 0.1, momentum = 0.9, weight_decay = 5e-4 }
  schedule  = { name = "cosine" }
}

dataset "mnist" {
  kind            = "mnist" # ships with Lethe: no path needed
  train_per_class = 1000
  test_per_class  = 200
}

train "ortho" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  width        = 0.5
  epochs       = var.epochs
  batch_size   = 64
  optimizer    = local.optimizer
  schedule     = local.schedule
  ortho_lambda = 1e-3 # the orthogonality penalty that OSP relies on
}

train "plain" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  width        = 0.5
  epochs       = var.epochs
  batch_size   = 64
  optimizer    = local.optimizer
  schedule     = local.schedule
  ortho_lambda = 0 # the paper's "Orig." model
}

# OSP on both models: 2 models x 3 ratios = 6 instances.
unlearn "osp" {
  model    = [train.ortho, train.plain]
  method   = "osp"
  forget   = var.forget
  strength = 0.4
  sweep {
    ratio = [0.02, 0.05, 0.1]
  }
}

# Dynamic OSP: rounds of the paper's ρ and s over the whole network until
# the forget samples are at 0%, then two epochs of fine-tuning on the
# retained digits (attenuated filters and batch-norm statistics fixed),
# each followed by pruning back to 0% (docs/osp.md says why each option
# is there).
unlearn "osp_dynamic" {
  model                       = [train.ortho, train.plain]
  method                      = "osp"
  forget                      = var.forget
  ratio                       = 0.05
  strength                    = 0.4
  scope                       = "global"
  bn                          = "scale"
  tap                         = "conv"
  n_forget                    = 256
  n_retain                    = 256
  rounds                      = 50
  target                      = 0
  finetune_epochs             = 2
  finetune_lr                 = 0.001
  finetune_patience           = 0
  finetune_freeze             = true
  finetune_bn                 = "frozen"
  finetune_reprune            = true
  finetune_reprune_each_epoch = true
}

# The gold standard: retrain each model from scratch without the forgotten
# digits. js_retrain compares every unlearned model with its own retrain.
unlearn "retrain" {
  model  = [train.ortho, train.plain]
  method = "retrain"
  forget = var.forget
}

# The paper's other baselines on the orthogonal model: one instance per method.
unlearn "baselines" {
  model           = train.ortho
  method          = ["ssd", "emni", "tfidf"]
  forget          = var.forget
  finetune_epochs = 2 # tfidf's fine-tuning, shortened from 10 for the quickstart
}

evaluate "all" {
  models  = [train.ortho, train.plain, unlearn.osp, unlearn.osp_dynamic, unlearn.retrain, unlearn.baselines]
  forget  = var.forget # for the trained models, the models before unlearning
  retrain = unlearn.retrain
  metrics = ["acc_forget", "acc_retain", "mia", "js_retrain", "time"]
}

report "summary" {
  from      = evaluate.all
  title     = "Forgetting an MNIST digit: OSP against the baselines"
  rows      = ["method", "rounds", "ratio"]
  columns   = ["model"]
  values    = ["acc_forget", "acc_retain", "mia", "js_retrain", "time"]
  precision = 2
}
