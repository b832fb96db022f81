# refers to blocks of the other files
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [1]
  sweep {
    ratio = [0.02, 0.04]
  }
}
