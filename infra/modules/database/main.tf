data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  key_attributes = concat(
    [var.schema.hash_key],
    var.schema.range_key == null ? [] : [var.schema.range_key],
    flatten([
      for i in var.schema.global_secondary_indexes :
      concat([i.hash_key], i.range_key == null ? [] : [i.range_key])
    ]),
  )

  # One attribute definition per key attribute, whatever number of keys and indexes use it.
  attributes = { for a in local.key_attributes : a.name => a.type... }

  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  # An alias allows letters, digits, `/`, `_` and `-` (256 characters with `alias/`), a table
  # name also `.` (255 characters): dots become `-`, and the name is cut to fit.
  kms_alias = "alias/dynamodb-${substr(replace(var.table_name, ".", "-"), 0, 241)}"
}

resource "aws_dynamodb_table" "this" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.schema.hash_key.name
  range_key                   = try(var.schema.range_key.name, null)
  deletion_protection_enabled = var.enable_deletion_protection

  dynamic "attribute" {
    for_each = local.attributes

    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.schema.global_secondary_indexes

    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key.name
      range_key          = try(global_secondary_index.value.range_key.name, null)
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.non_key_attributes
    }
  }

  dynamic "ttl" {
    for_each = var.schema.ttl_attribute == null ? [] : [var.schema.ttl_attribute]

    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = var.enable_point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = alltrue([for name, types in local.attributes : length(distinct(types)) == 1])
      error_message = "A key attribute is used with two different types in the schema."
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "Encrypts the DynamoDB table ${var.table_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The account administers the key through IAM; no statement grants "kms:*". Disabling
        # and enabling the key, and listing and revoking its grants, are the ways to cut off
        # DynamoDB's use of it (the grants it takes per table) in an incident, or to restore it.
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action = [
          "kms:CancelKeyDeletion",
          "kms:CreateAlias",
          "kms:DeleteAlias",
          "kms:DescribeKey",
          "kms:DisableKey",
          "kms:DisableKeyRotation",
          "kms:EnableKey",
          "kms:EnableKeyRotation",
          "kms:GetKeyPolicy",
          "kms:GetKeyRotationStatus",
          "kms:ListGrants",
          "kms:ListResourceTags",
          "kms:PutKeyPolicy",
          "kms:RevokeGrant",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:UpdateAlias",
          "kms:UpdateKeyDescription",
        ]
        Resource = "*"
      },
      {
        # DynamoDB reads the key's metadata itself, not on anyone's behalf: the statement AWS
        # documents for a table's customer managed key (AWS KMS developer guide, "How Amazon
        # DynamoDB uses AWS KMS") allows the service principal kms:Describe*, Get* and List*.
        # Here those are the named read-only actions a key policy can grant on a symmetric key:
        # ListAliases and ListKeys are IAM-policy-only, GetPublicKey is for asymmetric keys and
        # GetParametersForImport for imported key material, none of which applies.
        Sid       = "DynamoDbReadsTheKey"
        Effect    = "Allow"
        Principal = { Service = "dynamodb.amazonaws.com" }
        Action = [
          "kms:DescribeKey",
          "kms:GetKeyPolicy",
          "kms:GetKeyRotationStatus",
          "kms:ListGrants",
          "kms:ListKeyPolicies",
          "kms:ListKeyRotations",
          "kms:ListResourceTags",
        ]
        Resource = "*"
      },
      {
        # Principals of this account whose IAM policy allows it (the task role) may use the key,
        # and only through DynamoDB in this region. Every action named: what DynamoDB asks of a
        # customer key (ReEncryptFrom/To when a table changes keys), without the `*` forms that
        # would also allow data key pairs.
        Sid       = "UseThroughDynamoDbOnly"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action = [
          "kms:CreateGrant",
          "kms:Decrypt",
          "kms:DescribeKey",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
        ]
        Resource = "*"
        Condition = {
          StringEquals = {
            "kms:ViaService"    = "dynamodb.${data.aws_region.current.name}.amazonaws.com"
            "kms:CallerAccount" = data.aws_caller_identity.current.account_id
          }
        }
      },
    ]
  })

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = local.kms_alias
  target_key_id = aws_kms_key.this[0].key_id
}
