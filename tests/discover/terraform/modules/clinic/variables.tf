variable "env" {
  type        = string
  description = "dev, staging or prod"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "user_pool_id" {
  type = string
}

variable "portal_client_id" {
  type = string
}

variable "portal_rate" {
  type    = number
  default = 500
}

variable "portal_burst" {
  type    = number
  default = 1000
}

variable "partner_quota" {
  type    = number
  default = 10000
}
