locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  create_interface_endpoints = var.nat_mode == "none" || var.enable_interface_endpoints

  # Without NAT, tasks reach ECR's API, its Docker registry and CloudWatch Logs through these.
  interface_endpoint_services = local.create_interface_endpoints ? toset(["ecr.api", "ecr.dkr", "logs"]) : toset([])

  # What may pass each interface endpoint, by this account only: logging in to ECR (which AWS
  # accepts only on "*"), pulling the application's image, writing to the application's log
  # group. The same rights as the task execution role's, so that a principal of the account
  # with wider rights still cannot use the endpoints for anything else.
  ecr_pull = [
    {
      Sid      = "EcrLogin"
      Action   = ["ecr:GetAuthorizationToken"]
      Resource = "*"
    },
    {
      Sid      = "PullTheApplicationImage"
      Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Resource = [var.image_repository_arn]
    },
  ]
  interface_endpoint_statements = {
    "ecr.api" = local.ecr_pull
    "ecr.dkr" = local.ecr_pull
    "logs" = [{
      Sid      = "WriteTheApplicationLogs"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${var.app_log_group_arn}:log-stream:*"]
    }]
  }
}

# DynamoDB traffic from the private subnets never leaves the AWS network, and through this
# endpoint it can reach only the application's table and its indexes, from this account only.
resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "ApplicationTableOnly"
      Effect    = "Allow"
      Principal = "*"
      Action    = var.dynamodb_actions
      Resource  = [var.dynamodb_table_arn, "${var.dynamodb_table_arn}/index/*"]
      Condition = {
        StringEquals = { "aws:PrincipalAccount" = local.account_id }
      }
    }]
  })

  tags = merge(var.tags, { Name = "${var.name}-dynamodb" })
}

# ECR stores image layers in S3: without NAT the layers come through this gateway endpoint,
# which only reads ECR's layer bucket of the region.
resource "aws_vpc_endpoint" "s3" {
  count = local.create_interface_endpoints ? 1 : 0

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EcrImageLayersOnly"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["s3:GetObject"]
      Resource  = ["arn:${local.partition}:s3:::prod-${local.region}-starport-layer-bucket/*"]
    }]
  })

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}

resource "aws_security_group" "endpoints" {
  count = local.create_interface_endpoints ? 1 : 0

  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-endpoints" })
}

# From the private subnets, where the tasks run; the public ones hold only the load balancer and
# the NAT gateways, which do not call AWS APIs.
resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  for_each = local.create_interface_endpoints ? toset(local.private_cidrs) : toset([])

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS from a private subnet"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoint_services

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for statement in local.interface_endpoint_statements[each.key] : merge(statement, {
        Effect    = "Allow"
        Principal = "*"
        Condition = {
          StringEquals = { "aws:PrincipalAccount" = local.account_id }
        }
      })
    ]
  })

  tags = merge(var.tags, { Name = "${var.name}-${replace(each.key, ".", "-")}" })
}
