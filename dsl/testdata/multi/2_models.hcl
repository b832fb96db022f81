dataset "mnist" {
  kind = "mnist"
}

train "ortho" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  epochs       = var.epochs
  ortho_lambda = 1e-3
}
