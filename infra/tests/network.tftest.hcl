# Rules of the network module (issue point 2), in plan mode against a mocked provider.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan

  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1c", "eu-west-1a", "eu-west-1b"] }
  }
  mock_resource "aws_vpc" {}
  mock_resource "aws_subnet" {}
  mock_resource "aws_route_table" {}
  mock_resource "aws_nat_gateway" {}
  mock_resource "aws_eip" {}
  mock_resource "aws_internet_gateway" {}
  mock_resource "aws_security_group" {}
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/lc/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/lc-vpc-flow-logs" }
  }

  # The GitHub OIDC module's policies (the boundary run).
  override_resource {
    target = aws_iam_policy.role_boundary
    values = { arn = "arn:aws:iam::123456789012:policy/github-deploy-lc-role-boundary" }
  }
  override_resource {
    target = aws_iam_policy.read
    values = { arn = "arn:aws:iam::123456789012:policy/github-read-lc" }
  }
}

variables {
  name               = "lc"
  dynamodb_table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/lc-leave"
  dynamodb_actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"]

  image_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/lc"
  app_log_group_arn    = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/lc"
}

run "two_azs_subnets_and_closed_defaults" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 2
    nat_mode = "single"
  }

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "Two AZs must give two public and two private subnets."
  }

  assert {
    condition     = length(distinct(aws_subnet.private[*].availability_zone)) == 2 && length(distinct(aws_subnet.public[*].availability_zone)) == 2
    error_message = "The subnets of a tier must be in distinct availability zones."
  }

  assert {
    condition     = toset(aws_subnet.private[*].availability_zone) == toset(["eu-west-1a", "eu-west-1b"])
    error_message = "The first zones by name must be used."
  }

  assert {
    condition     = data.aws_availability_zones.zones.state == null && data.aws_availability_zones.zones.all_availability_zones != true
    error_message = "The zones must be read whatever their state (an impaired zone must not move the subnets), and without opt-in zones."
  }

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2 && alltrue([for s in concat(aws_subnet.public, aws_subnet.private) : s.map_public_ip_on_launch != true])
    error_message = "No subnet may give instances a public IP automatically."
  }

  assert {
    condition     = length(distinct(concat(aws_subnet.public[*].cidr_block, aws_subnet.private[*].cidr_block))) == 4 && alltrue([for s in concat(aws_subnet.public, aws_subnet.private) : endswith(s.cidr_block, "/20")])
    error_message = "Each subnet must get its own /20 of the /16 VPC."
  }

  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must have no rule."
  }

  assert {
    condition     = aws_route.public_internet.destination_cidr_block == "0.0.0.0/0" && aws_route.public_internet.gateway_id == aws_internet_gateway.this.id
    error_message = "The public route table must route to the internet gateway."
  }
}

run "nat_single" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 3
    nat_mode = "single"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1
    error_message = "nat_mode = single must create exactly one NAT gateway."
  }

  assert {
    condition     = length(aws_route.private_nat) == 3 && alltrue([for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this[0].id && r.destination_cidr_block == "0.0.0.0/0"])
    error_message = "With a single NAT, every private route table must default-route to it."
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.s3) == 0
    error_message = "Interface and S3 endpoints are not created with NAT unless asked for."
  }
}

run "nat_one_per_az" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 3
    nat_mode = "one_per_az"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(distinct(aws_nat_gateway.this[*].subnet_id)) == 3
    error_message = "nat_mode = one_per_az must create one NAT gateway in each AZ's public subnet."
  }

  assert {
    condition = alltrue([
      for i in range(3) :
      aws_route.private_nat[i].nat_gateway_id == aws_nat_gateway.this[i].id &&
      aws_nat_gateway.this[i].subnet_id == aws_subnet.public[i].id &&
      aws_route.private_nat[i].route_table_id == aws_route_table.private[i].id &&
      aws_route_table_association.private[i].subnet_id == aws_subnet.private[i].id &&
      aws_subnet.public[i].availability_zone == aws_subnet.private[i].availability_zone
    ])
    error_message = "Each private subnet must route through the NAT gateway of its own AZ."
  }
}

run "nat_none_uses_endpoints" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 2
    nat_mode = "none"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_eip.nat) == 0 && length(aws_route.private_nat) == 0
    error_message = "nat_mode = none must create no NAT gateway and no default route in private route tables."
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["ecr.api", "ecr.dkr", "logs"])
    error_message = "Without NAT the ECR api, ECR dkr and Logs interface endpoints must exist."
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 3 && alltrue([for e in aws_vpc_endpoint.interface : e.private_dns_enabled && e.vpc_endpoint_type == "Interface" && toset(e.subnet_ids) == toset(aws_subnet.private[*].id)])
    error_message = "Interface endpoints must be in every private subnet with private DNS."
  }

  assert {
    condition = length(aws_vpc_endpoint.interface) == 3 && alltrue([
      for e in aws_vpc_endpoint.interface : length(jsondecode(e.policy).Statement) > 0 && alltrue([
        for st in jsondecode(e.policy).Statement :
        st.Condition.StringEquals["aws:PrincipalAccount"] == "123456789012" && alltrue([for a in st.Action : !strcontains(a, "*")])
      ])
    ])
    error_message = "Interface endpoint policies must allow explicit actions to this account only."
  }

  assert {
    condition = alltrue([
      for service, statements in {
        "ecr.api" = { EcrLogin = ["*"], PullTheApplicationImage = [var.image_repository_arn] }
        "ecr.dkr" = { EcrLogin = ["*"], PullTheApplicationImage = [var.image_repository_arn] }
        logs      = { WriteTheApplicationLogs = ["${var.app_log_group_arn}:log-stream:*"] }
      } :
      { for st in jsondecode(aws_vpc_endpoint.interface[service].policy).Statement : st.Sid => flatten([st.Resource]) } == statements
    ])
    error_message = "Interface endpoint policies must name the application's repository and log group; only ecr:GetAuthorizationToken may be on \"*\"."
  }

  assert {
    condition = alltrue([
      for e in aws_vpc_endpoint.interface : alltrue([
        for st in jsondecode(e.policy).Statement : st.Resource != "*" || st.Action == ["ecr:GetAuthorizationToken"]
      ])
    ])
    error_message = "Only ecr:GetAuthorizationToken, which AWS accepts on no resource but \"*\", may be allowed on every resource."
  }

  assert {
    condition     = aws_vpc_endpoint.interface["ecr.dkr"].service_name == "com.amazonaws.eu-west-1.ecr.dkr" && aws_vpc_endpoint.s3[0].service_name == "com.amazonaws.eu-west-1.s3"
    error_message = "Endpoint service names must follow the region."
  }

  assert {
    condition     = length(aws_vpc_endpoint.s3) == 1 && toset(aws_vpc_endpoint.s3[0].route_table_ids) == toset(aws_route_table.private[*].id)
    error_message = "Without NAT the S3 gateway endpoint must be on every private route table (ECR layers)."
  }

  assert {
    condition     = jsondecode(aws_vpc_endpoint.s3[0].policy).Statement[0].Resource == ["arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"] && jsondecode(aws_vpc_endpoint.s3[0].policy).Statement[0].Action == ["s3:GetObject"]
    error_message = "The S3 endpoint policy must only allow getting objects of ECR's layer bucket."
  }

  assert {
    condition = (
      toset([for rule in aws_vpc_security_group_ingress_rule.endpoints_https : rule.cidr_ipv4]) == toset(aws_subnet.private[*].cidr_block)
      && alltrue([for rule in aws_vpc_security_group_ingress_rule.endpoints_https : rule.from_port == 443 && rule.to_port == 443 && rule.ip_protocol == "tcp"])
    )
    error_message = "Interface endpoints must accept HTTPS from the private subnets only."
  }
}

run "interface_endpoints_with_nat_on_request" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    nat_mode                   = "single"
    enable_interface_endpoints = true
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 3 && length(aws_vpc_endpoint.s3) == 1 && length(aws_nat_gateway.this) == 1
    error_message = "enable_interface_endpoints must add the endpoints next to the NAT gateway."
  }
}

run "dynamodb_endpoint_on_every_private_route_table_limited_to_table" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 3
  }

  assert {
    condition     = aws_vpc_endpoint.dynamodb.vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.dynamodb.service_name == "com.amazonaws.eu-west-1.dynamodb"
    error_message = "DynamoDB must be reached through a gateway endpoint of the region."
  }

  assert {
    condition     = length(aws_route_table.private) == 3 && toset(aws_vpc_endpoint.dynamodb.route_table_ids) == toset(aws_route_table.private[*].id)
    error_message = "The DynamoDB endpoint must be on every private route table."
  }

  assert {
    condition = length(jsondecode(aws_vpc_endpoint.dynamodb.policy).Statement) == 1 && alltrue([
      for s in jsondecode(aws_vpc_endpoint.dynamodb.policy).Statement :
      s.Effect == "Allow" &&
      toset(s.Resource) == toset([var.dynamodb_table_arn, "${var.dynamodb_table_arn}/index/*"]) &&
      s.Condition.StringEquals["aws:PrincipalAccount"] == "123456789012"
    ])
    error_message = "The DynamoDB endpoint policy must allow only the table and its indexes, and only this account."
  }

  assert {
    condition     = length(jsondecode(aws_vpc_endpoint.dynamodb.policy).Statement) == 1 && alltrue([for s in jsondecode(aws_vpc_endpoint.dynamodb.policy).Statement : toset(s.Action) == toset(var.dynamodb_actions) && !contains(s.Action, "*") && !contains(s.Action, "dynamodb:*")])
    error_message = "The DynamoDB endpoint policy must list the application's actions, without wildcards."
  }
}

run "flow_logs_on" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    enable_flow_logs = true
  }

  assert {
    condition     = length(aws_flow_log.this) == 1 && aws_flow_log.this[0].traffic_type == "ALL" && aws_flow_log.this[0].log_destination_type == "cloud-watch-logs"
    error_message = "enable_flow_logs must record all VPC traffic to CloudWatch Logs."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs[0].retention_in_days == var.flow_logs_retention_days && aws_cloudwatch_log_group.flow_logs[0].retention_in_days > 0
    error_message = "The flow log group must have a retention."
  }

  assert {
    condition = (
      { for s in jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement : s.Sid => { actions = toset(s.Action), resources = toset(s.Resource) } } == {
        WriteThisLogGroupOnly = {
          actions   = toset(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"])
          resources = toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/lc/flow-logs", "arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/lc/flow-logs:log-stream:*"])
        }
        FindTheLogGroup = {
          actions   = toset(["logs:DescribeLogGroups"])
          resources = toset(["arn:aws:logs:eu-west-1:123456789012:log-group:*"])
        }
      }
    )
    error_message = "The flow log role may write to its log group only, and find it among the region's groups."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement : [for a in s.Action : !strcontains(a, "*")]
    ]))
    error_message = "The flow log role's actions must be named, without a \"*\"."
  }

  assert {
    condition = jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Condition == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike      = { "aws:SourceArn" = "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*" }
    }
    error_message = "Only this account's flow logs may assume the flow-log role."
  }

  assert {
    condition     = aws_iam_role.flow_logs[0].permissions_boundary == null
    error_message = "Without role_permissions_boundary the flow log role has no boundary."
  }

  assert {
    condition     = aws_iam_role.flow_logs[0].path == "/${var.name}/"
    error_message = "The flow log role must be under the stack's IAM path, which the deploy role's IAM rights name."
  }
}

# The boundary the GitHub deploy role requires (modules/github_oidc), for a stack named like this one.
run "boundary" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  variables {
    github_repository = "acme/lc"
    stack_name        = "lc"
  }
}

run "flow_log_role_carries_the_boundary_and_fits_inside_it" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    role_permissions_boundary = run.boundary.role_permissions_boundary_arn
  }

  assert {
    condition     = aws_iam_role.flow_logs[0].permissions_boundary == var.role_permissions_boundary
    error_message = "With role_permissions_boundary the flow log role must carry it."
  }

  # Each action on each resource the role is given must be allowed by a statement of the boundary
  # (its resources read as IAM patterns), or the flow logs would silently stop.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement : [
        for a in flatten([s.Action]) : [
          for r in flatten([s.Resource]) : anytrue([
            for b in jsondecode(run.boundary.role_permissions_boundary_policy).Statement :
            contains(flatten([b.Action]), a) && anytrue([
              for pattern in flatten([b.Resource]) : can(regex("^${replace(replace(pattern, ".", "\\."), "*", ".*")}$", r))
            ])
          ])
        ]
      ]
    ]))
    error_message = "The boundary must allow everything the flow log role is given."
  }
}

run "rejects_a_boundary_that_is_not_a_policy" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    role_permissions_boundary = "leave-calendar-boundary"
  }

  expect_failures = [var.role_permissions_boundary]
}

run "flow_logs_off" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    enable_flow_logs = false
  }

  assert {
    condition     = length(aws_flow_log.this) == 0 && length(aws_cloudwatch_log_group.flow_logs) == 0 && length(aws_iam_role.flow_logs) == 0
    error_message = "enable_flow_logs = false must create no flow log resources."
  }
}

run "region_is_not_a_literal" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    nat_mode = "none"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "us-east-2" }
  }

  override_data {
    target = data.aws_availability_zones.zones
    values = { names = ["us-east-2a", "us-east-2b", "us-east-2c"] }
  }

  assert {
    condition     = aws_vpc_endpoint.dynamodb.service_name == "com.amazonaws.us-east-2.dynamodb" && length(aws_vpc_endpoint.interface) == 3 && alltrue([for k, e in aws_vpc_endpoint.interface : e.service_name == "com.amazonaws.us-east-2.${k}"])
    error_message = "Endpoint service names must come from the region, not a literal."
  }
}

run "rejects_bad_cidr" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    vpc_cidr = "10.0.0.0/8"
  }

  expect_failures = [var.vpc_cidr]
}

# A /24 VPC would give /28 subnets, too small for a load balancer (/27 and 8 free addresses).
run "rejects_subnets_too_small_for_a_load_balancer" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    vpc_cidr = "10.0.0.0/24"
  }

  expect_failures = [var.vpc_cidr]
}

run "smallest_vpc_gives_load_balancer_sized_subnets" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    vpc_cidr = "10.0.0.0/23"
  }

  assert {
    condition     = length(concat(aws_subnet.public, aws_subnet.private)) == 4 && alltrue([for s in concat(aws_subnet.public, aws_subnet.private) : endswith(s.cidr_block, "/27")])
    error_message = "A /23 VPC must give /27 subnets."
  }
}

run "rejects_non_network_address" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    vpc_cidr = "10.0.1.0/16"
  }

  expect_failures = [var.vpc_cidr]
}

run "rejects_four_azs" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    az_count = 4
  }

  expect_failures = [var.az_count]
}

run "rejects_unknown_nat_mode" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    nat_mode = "two"
  }

  expect_failures = [var.nat_mode]
}

run "rejects_wildcard_actions" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    dynamodb_actions = ["dynamodb:*"]
  }

  expect_failures = [var.dynamodb_actions]
}

# The log group's ARN as some APIs write it, with ":*", would make the policy's resource
# "...:*:log-stream:*", which names no stream: the logs endpoint would refuse every write.
run "rejects_a_log_group_arn_with_a_wildcard" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    app_log_group_arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/lc:*"
  }

  expect_failures = [var.app_log_group_arn]
}

run "rejects_an_image_repository_that_is_not_an_ecr_arn" {
  command = plan

  module {
    source = "./modules/network"
  }

  variables {
    image_repository_arn = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lc"
  }

  expect_failures = [var.image_repository_arn]
}
