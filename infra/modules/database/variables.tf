variable "table_name" {
  description = "Name of the DynamoDB table (3 to 255 characters of letters, digits, `_`, `-` and `.`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "The table name must be 3 to 255 characters of letters, digits, `_`, `-` and `.`."
  }
}

variable "schema" {
  description = "Key schema of the table, as decoded from the application's `schema/dynamodb-table.json`: `hash_key` and optional `range_key` (`{ name, type }` with type `S`, `N` or `B`), `global_secondary_indexes` (`{ name, hash_key, range_key?, projection_type?, non_key_attributes? }`) and optional `ttl_attribute`."
  type = object({
    hash_key  = object({ name = string, type = string })
    range_key = optional(object({ name = string, type = string }))
    global_secondary_indexes = optional(list(object({
      name               = string
      hash_key           = object({ name = string, type = string })
      range_key          = optional(object({ name = string, type = string }))
      projection_type    = optional(string, "ALL")
      non_key_attributes = optional(list(string))
    })), [])
    ttl_attribute = optional(string)
  })

  validation {
    condition = alltrue([
      for k in concat(
        [var.schema.hash_key],
        var.schema.range_key == null ? [] : [var.schema.range_key],
        flatten([for i in var.schema.global_secondary_indexes : concat([i.hash_key], i.range_key == null ? [] : [i.range_key])]),
      ) : contains(["S", "N", "B"], k.type)
    ])
    error_message = "Every key attribute type must be `S`, `N` or `B`."
  }

  validation {
    condition     = alltrue([for i in var.schema.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], i.projection_type)])
    error_message = "A global secondary index's projection_type must be `ALL`, `KEYS_ONLY` or `INCLUDE`."
  }
}

variable "enable_deletion_protection" {
  description = "Refuse to delete the table (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "enable_point_in_time_recovery" {
  description = "Keep continuous backups for point-in-time recovery (any second of the last 35 days)."
  type        = bool
  default     = true
}

variable "create_kms_key" {
  description = "Encrypt the table with a customer-managed KMS key that the module creates (rotated yearly). When `false` and `kms_key_arn` is `null`, the AWS-managed key `aws/dynamodb` is used."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key for the table, or `null`. Cannot be combined with `create_kms_key`."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The KMS key ARN must look like `arn:aws:kms:<region>:<account>:key/<id>`."
  }

  validation {
    condition     = !(var.create_kms_key && var.kms_key_arn != null)
    error_message = "Set either create_kms_key or kms_key_arn, not both."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Days a deleted customer-managed key can still be recovered (7 to 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "The deletion window must be between 7 and 30 days."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
