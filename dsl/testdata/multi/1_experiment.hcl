experiment "multi" {
  title = "one experiment in three files"
  seeds = var.seeds
}

variable "seeds" {
  type    = list(number)
  default = [0, 1]
}

variable "epochs" {
  type    = number
  default = 2
  validation {
    condition     = var.epochs >= 1
    error_message = "Train for at least one epoch."
  }
}
