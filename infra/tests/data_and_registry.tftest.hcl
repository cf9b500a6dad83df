# Rules of the database and registry modules (issue point 6), in plan mode against a mocked provider.
# The table schema is read from the application's single source of truth, like the root does.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/lc-leave" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/lc"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lc"
    }
  }
}

variables {
  table_name = "lc-leave"
  schema     = jsondecode(file("../schema/dynamodb-table.json"))
  name       = "lc"
}

run "table_follows_the_app_schema" {
  command = plan

  module {
    source = "./modules/database"
  }

  assert {
    condition     = aws_dynamodb_table.this.hash_key == jsondecode(file("../schema/dynamodb-table.json")).hash_key.name
    error_message = "The table's partition key must be the one in schema/dynamodb-table.json."
  }

  assert {
    condition     = aws_dynamodb_table.this.range_key == try(jsondecode(file("../schema/dynamodb-table.json")).range_key.name, null)
    error_message = "The table's sort key must be the one in schema/dynamodb-table.json."
  }

  assert {
    condition = (
      { for a in aws_dynamodb_table.this.attribute : a.name => a.type } ==
      merge(
        { (jsondecode(file("../schema/dynamodb-table.json")).hash_key.name) = jsondecode(file("../schema/dynamodb-table.json")).hash_key.type },
        { (jsondecode(file("../schema/dynamodb-table.json")).range_key.name) = jsondecode(file("../schema/dynamodb-table.json")).range_key.type },
        merge(flatten([for i in jsondecode(file("../schema/dynamodb-table.json")).global_secondary_indexes : [{ (i.hash_key.name) = i.hash_key.type }, try({ (i.range_key.name) = i.range_key.type }, {})]])...),
      )
    )
    error_message = "The table's attribute definitions must be exactly the key attributes of the schema, with their types."
  }

  assert {
    condition     = toset([for i in aws_dynamodb_table.this.global_secondary_index : i.name]) == toset([for i in jsondecode(file("../schema/dynamodb-table.json")).global_secondary_indexes : i.name])
    error_message = "The table's global secondary indexes must be the schema's."
  }

  assert {
    condition     = one(aws_dynamodb_table.this.ttl).attribute_name == jsondecode(file("../schema/dynamodb-table.json")).ttl_attribute && one(aws_dynamodb_table.this.ttl).enabled
    error_message = "TTL must be on the schema's ttl_attribute."
  }

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "The table must be on-demand."
  }

  assert {
    condition     = one(aws_dynamodb_table.this.point_in_time_recovery).enabled == true
    error_message = "Point-in-time recovery must be on."
  }

  assert {
    condition     = one(aws_dynamodb_table.this.server_side_encryption).enabled == true && length(aws_kms_key.this) == 0
    error_message = "Server-side encryption must be on (AWS-managed key by default)."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled == true
    error_message = "Deletion protection must be on by default."
  }
}

run "schema_with_an_index" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    schema = {
      hash_key  = { name = "pk", type = "S" }
      range_key = { name = "sk", type = "S" }
      global_secondary_indexes = [
        { name = "by_person", hash_key = { name = "person", type = "S" }, range_key = { name = "sk", type = "S" } },
      ]
      ttl_attribute = null
    }
    enable_deletion_protection = false
  }

  assert {
    condition     = { for a in aws_dynamodb_table.this.attribute : a.name => a.type } == { pk = "S", sk = "S", person = "S" }
    error_message = "Attributes shared by keys and indexes must be defined once."
  }

  assert {
    condition     = one(aws_dynamodb_table.this.global_secondary_index).name == "by_person" && one(aws_dynamodb_table.this.global_secondary_index).projection_type == "ALL"
    error_message = "Indexes must come from the schema."
  }

  assert {
    condition     = length(aws_dynamodb_table.this.ttl) == 0
    error_message = "No TTL without a ttl_attribute."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled == false
    error_message = "Deletion protection must follow the variable."
  }
}

run "customer_managed_key" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    create_kms_key = true
  }

  assert {
    condition     = one(aws_dynamodb_table.this.server_side_encryption).kms_key_arn == aws_kms_key.this[0].arn && aws_kms_key.this[0].enable_key_rotation
    error_message = "create_kms_key must encrypt the table with a rotated customer key."
  }

  assert {
    condition     = alltrue(flatten([for s in jsondecode(aws_kms_key.this[0].policy).Statement : [for a in s.Action : !strcontains(a, "*")]]))
    error_message = "The key policy must name every action: no \"*\", kms:* or GenerateDataKey*-style wildcard."
  }

  assert {
    condition     = aws_kms_alias.this[0].name == "alias/dynamodb-lc-leave"
    error_message = "The key's alias must be named after the table."
  }

  assert {
    condition     = [for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Condition.StringEquals["kms:ViaService"] if s.Sid == "UseThroughDynamoDbOnly"] == ["dynamodb.eu-west-1.amazonaws.com"]
    error_message = "The key may only be used through DynamoDB of the region."
  }

  assert {
    condition     = output.kms_key_arn == aws_kms_key.this[0].arn
    error_message = "The module must give the key to the service (task role grant)."
  }

  # AWS documents a statement letting DynamoDB itself read the key (Describe*, Get*, List*):
  # here its named read-only actions, and nothing that changes or uses the key.
  assert {
    condition = [
      for s in jsondecode(aws_kms_key.this[0].policy).Statement : toset(s.Action)
      if s.Principal == { Service = "dynamodb.amazonaws.com" }
      ] == [toset([
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants",
        "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags",
    ])]
    error_message = "The key policy must let the service principal dynamodb.amazonaws.com read the key (one statement, read-only actions named)."
  }

  assert {
    condition = length(setsubtract(
      ["kms:DisableKey", "kms:EnableKey", "kms:ListGrants", "kms:RevokeGrant", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
      one([for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Action if s.Sid == "AccountAdministersKey"]),
    )) == 0
    error_message = "The account must be able to administer the key: disable and enable it, list and revoke DynamoDB's grants, change its policy, schedule and cancel its deletion."
  }
}

# A table name may hold `.` (and be 255 characters long), a key alias may not (and is limited to
# 256 characters with `alias/`).
run "dotted_table_name_gives_a_valid_key_alias" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    table_name     = "lc.leave.v2"
    create_kms_key = true
  }

  assert {
    condition     = aws_dynamodb_table.this.name == "lc.leave.v2" && aws_kms_alias.this[0].name == "alias/dynamodb-lc-leave-v2"
    error_message = "The table keeps its name; the key's alias replaces the dots."
  }

  assert {
    condition     = can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", aws_kms_alias.this[0].name))
    error_message = "A key alias may hold only letters, digits, `/`, `_` and `-`."
  }
}

run "longest_table_name_gives_a_valid_key_alias" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    table_name     = join("", [for i in range(51) : "a.b.c"])
    create_kms_key = true
  }

  assert {
    condition     = length(aws_dynamodb_table.this.name) == 255 && length(aws_kms_alias.this[0].name) == 256 && can(regex("^alias/[A-Za-z0-9/_-]+$", aws_kms_alias.this[0].name))
    error_message = "The alias of a key of a 255-character table must be cut to the 256 characters KMS allows."
  }
}

run "rejects_two_key_sources" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    create_kms_key = true
    kms_key_arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_key_type" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    schema = { hash_key = { name = "pk", type = "X" } }
  }

  expect_failures = [var.schema]
}

run "rejects_short_table_name" {
  command = plan

  module {
    source = "./modules/database"
  }

  variables {
    table_name = "ab"
  }

  expect_failures = [var.table_name]
}

run "registry_is_immutable_scanned_and_pruned" {
  command = plan

  module {
    source = "./modules/registry"
  }

  variables {
    keep_images = 15
  }

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "Image tags must be immutable."
  }

  assert {
    condition     = one(aws_ecr_repository.this.image_scanning_configuration).scan_on_push == true
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = one([for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.selection if r.selection.tagStatus == "any"]) == { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 15 }
    error_message = "The lifecycle policy must keep the last keep_images images."
  }

  assert {
    condition     = max([for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.rulePriority]...) == one([for r in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules : r.rulePriority if r.selection.tagStatus == "any"])
    error_message = "The `any` rule must have the lowest priority (ECR requires it)."
  }

  assert {
    condition     = aws_ecr_repository.this.force_delete == false
    error_message = "The repository must not be deleted with its images by default."
  }
}

run "rejects_bad_repository_name" {
  command = plan

  module {
    source = "./modules/registry"
  }

  variables {
    name = "Leave_Calendar"
  }

  expect_failures = [var.name]
}
