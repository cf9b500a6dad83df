variable "name" {
  description = "Name of the ECR repository (lowercase; `/`, `.`, `_` and `-` separate words; 2 to 256 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "The repository name must be 2 to 256 lowercase characters: words of letters and digits separated by `.`, `_`, `-` or `/`."
  }
}

variable "keep_images" {
  description = "Number of most recent images the lifecycle policy keeps; older ones are expired."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_images >= 1 && var.keep_images <= 10000 && floor(var.keep_images) == var.keep_images
    error_message = "Keep between 1 and 10000 images."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (layers of interrupted pushes, manifests replaced by a multi-arch index) are expired."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "Expire untagged images after at least one day."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key that encrypts the images, or `null` for ECR's default AES-256 encryption."
  type        = string
  default     = null
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository even when it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
