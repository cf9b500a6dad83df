locals {
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:*" }
      }
    }]
  })

  table_resources = [var.table_arn, "${var.table_arn}/index/*"]

  # The stack's roles are under a path of its own, which the deploy role's IAM rights name
  # (modules/github_oidc): a name prefix would also match roles the stack did not make.
  role_path = "/${var.name}/"
}

# Used by the ECS agent to start the task: pull the image, write the logs. Nothing else.
resource "aws_iam_role" "execution" {
  name                 = "${var.name}-execution"
  path                 = local.role_path
  description          = "ECS task execution role of ${var.name}: pulls its image and writes its logs"
  assume_role_policy   = local.ecs_tasks_trust
  permissions_boundary = var.role_permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-image-write-logs"
  role = aws_iam_role.execution.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # GetAuthorizationToken cannot be scoped to a resource: AWS only accepts "*" for it.
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Sid    = "PullThisRepositoryOnly"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
        ]
        Resource = [var.image_repository_arn]
      },
      {
        Sid      = "WriteThisLogGroupOnly"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
      },
    ]
  })
}

# Assumed by the application: exactly the DynamoDB calls it makes, on its table only.
resource "aws_iam_role" "task" {
  name                 = "${var.name}-task"
  path                 = local.role_path
  description          = "Role of the ${var.name} application: its DynamoDB table only"
  assume_role_policy   = local.ecs_tasks_trust
  permissions_boundary = var.role_permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy" "task" {
  name = "use-table"
  role = aws_iam_role.task.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid      = "ApplicationTableOnly"
        Effect   = "Allow"
        Action   = var.dynamodb_actions
        Resource = local.table_resources
      }],
      # With a customer key DynamoDB calls KMS with the caller's permissions: above all Decrypt
      # of the table key (cached per caller for a few minutes). Encrypt, GenerateDataKey and
      # DescribeKey complete what AWS documents for principals that read and write such a table.
      # Named rather than `GenerateDataKey*`/`ReEncrypt*`: data key pairs, keys without plaintext
      # and re-encryption (changing a table's key) are never the application's to use.
      var.table_kms_key_arn == null ? [] : [{
        Sid      = "TableKeyOnly"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = [var.table_kms_key_arn]
      }],
    )
  })
}
