terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "env" {
  type = string
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "user_pool_id" {
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

module "clinic" {
  source           = "../../modules/clinic"
  env              = var.env
  region           = var.region
  user_pool_id     = var.user_pool_id
  portal_client_id = "portal-web-${var.env}"
  portal_rate      = var.portal_rate
  portal_burst     = var.portal_burst
  partner_quota    = var.partner_quota
}
