# The whole stack through the root module, in plan mode against a mocked provider:
# the wiring between the modules and the outputs a user relies on.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan

  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_resource "aws_vpc" {}
  mock_resource "aws_subnet" {}
  mock_resource "aws_route_table" {}
  mock_resource "aws_security_group" {}
  mock_resource "aws_vpc_endpoint" {
    defaults = { prefix_list_id = "pl-6da54004" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/leave-calendar/0123456789abcdef"
      arn_suffix = "app/leave-calendar/0123456789abcdef"
      dns_name   = "leave-calendar-123.eu-west-1.elb.amazonaws.com"
      zone_id    = "Z32O12XQLNTSW2"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/leave-calendar-app/0123456789abcdef"
      arn_suffix = "targetgroup/leave-calendar-app/0123456789abcdef"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/leave-calendar" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/leave-calendar" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/leave-calendar-leave" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/leave-calendar"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/leave-calendar"
    }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/leave-calendar" }
  }
  # The provider's id of a service is its ARN.
  mock_resource "aws_ecs_service" {
    defaults = { id = "arn:aws:ecs:eu-west-1:123456789012:service/leave-calendar/leave-calendar" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/leave-calendar:1" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
}

variables {
  image_digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
  # A stack whose alarms notify no one fails the check `alarms_notify_someone`, which the
  # defaults run below expects.
  alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"]
}

run "defaults_plan_and_outputs" {
  command = plan

  # Without alarm_actions (the default) every plan warns that the alarms notify no one.
  variables {
    alarm_actions = []
  }

  expect_failures = [check.alarms_notify_someone]

  assert {
    condition     = output.app_url == "http://leave-calendar-123.eu-west-1.elb.amazonaws.com"
    error_message = "app_url must be the load balancer's address (http:// without a certificate)."
  }

  assert {
    condition     = output.repository_url == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/leave-calendar"
    error_message = "repository_url must be the ECR repository's URL."
  }

  assert {
    condition     = output.image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/leave-calendar@sha256:2222222222222222222222222222222222222222222222222222222222222222"
    error_message = "The service must run this stack's repository at the given digest."
  }

  assert {
    condition     = output.cluster_name == "leave-calendar" && output.service_name == "leave-calendar"
    error_message = "cluster_name and service_name must be output."
  }

  assert {
    condition     = output.alb_zone_id == "Z32O12XQLNTSW2"
    error_message = "alb_zone_id must be the load balancer's hosted zone, for alias records."
  }

  assert {
    condition     = output.deployment_alarm_name == "leave-calendar-deployment-5xx"
    error_message = "deployment_alarm_name must name the alarm that rolls deployments back."
  }

  assert {
    condition     = output.table_name == "leave-calendar-leave" && output.log_group_name == "/ecs/leave-calendar"
    error_message = "table_name and log_group_name must be output."
  }

  assert {
    condition     = module.database.hash_key == jsondecode(file("../schema/dynamodb-table.json")).hash_key.name && module.database.range_key == jsondecode(file("../schema/dynamodb-table.json")).range_key.name
    error_message = "The root must build the table from schema/dynamodb-table.json."
  }

  assert {
    condition     = length(module.network.nat_gateway_ids) == 2 && length(module.network.private_subnet_ids) == 2
    error_message = "The default is two AZs with a NAT gateway each."
  }

  assert {
    condition     = length(module.network.interface_endpoint_ids) == 0
    error_message = "With NAT, interface endpoints are opt-in."
  }

  assert {
    condition = module.monitoring.dimensions == {
      LoadBalancer = "app/leave-calendar/0123456789abcdef"
      TargetGroup  = "targetgroup/leave-calendar-app/0123456789abcdef"
      ClusterName  = "leave-calendar"
      ServiceName  = "leave-calendar"
      TableName    = "leave-calendar-leave"
    }
    error_message = "The alarms must watch this stack's load balancer and target group (their ARN suffixes), cluster, service and table."
  }

  assert {
    condition = output.alarm_names == {
      elb_5xx                    = "leave-calendar-elb-5xx"
      target_5xx                 = "leave-calendar-target-5xx"
      unhealthy_targets          = "leave-calendar-unhealthy-targets"
      latency_p99                = "leave-calendar-latency-p99"
      running_tasks              = "leave-calendar-running-tasks"
      memory                     = "leave-calendar-memory"
      dynamodb_read_throttles    = "leave-calendar-dynamodb-read-throttles"
      dynamodb_write_throttles   = "leave-calendar-dynamodb-write-throttles"
      dynamodb_system_errors     = "leave-calendar-dynamodb-system-errors"
      app_errors                 = "leave-calendar-app-errors"
      service_events_undelivered = "leave-calendar-service-events-undelivered"
    }
    error_message = "alarm_names must list the stack's eleven alarms."
  }

  assert {
    condition     = length(module.monitoring.notified_topics) == 0
    error_message = "By default (alarm_actions = []) the alarms notify no one."
  }

  assert {
    condition     = output.dashboard_name == "leave-calendar"
    error_message = "The stack must have its dashboard by default."
  }
}

run "https_three_azs_without_nat" {
  command = plan

  variables {
    certificate_arn      = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    domain_name          = "calendar.example.com"
    az_count             = 3
    nat_mode             = "none"
    create_table_kms_key = true
    # The plan takes a boundary for the stack's roles (the roles carrying it: tests/service and
    # tests/network; the wiring through this root: the end-to-end test).
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/github-deploy-leave-calendar-role-boundary"
    alarm_actions             = ["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"]
  }

  # One prefix list each, so that the egress rules show which endpoint they open.
  override_resource {
    target          = module.network.aws_vpc_endpoint.dynamodb
    values          = { prefix_list_id = "pl-dynamodb" }
    override_during = plan
  }

  override_resource {
    target          = module.network.aws_vpc_endpoint.s3
    values          = { prefix_list_id = "pl-s3" }
    override_during = plan
  }

  assert {
    condition     = output.app_url == "https://calendar.example.com"
    error_message = "With a certificate app_url is https:// and the certificate's name, not the load balancer's DNS name."
  }

  assert {
    condition     = length(module.network.nat_gateway_ids) == 0 && length(module.network.private_subnet_ids) == 3 && toset(keys(module.network.interface_endpoint_ids)) == toset(["ecr.api", "ecr.dkr", "logs"])
    error_message = "nat_mode = none must give three private subnets, no NAT and the endpoints."
  }

  assert {
    condition = (
      toset(module.service.https_egress.prefix_list_ids) == toset(["pl-dynamodb", "pl-s3"]) &&
      module.service.https_egress.security_group_ids == [module.network.endpoints_security_group_id] &&
      length(module.service.https_egress.cidr_blocks) == 0
    )
    error_message = "Without NAT the tasks' HTTPS egress must be the interface endpoints' security group and the DynamoDB and S3 gateway endpoints' prefix lists (the image's layers come from S3), nothing else in the VPC."
  }

  assert {
    condition     = module.database.kms_key_arn != null
    error_message = "create_table_kms_key must give the table a customer key."
  }

  assert {
    condition     = module.monitoring.notified_topics == tolist(["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"])
    error_message = "The alarms must notify the topics of alarm_actions."
  }

  assert {
    condition     = module.monitoring.service_events_topics == tolist(["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"])
    error_message = "The service's events must go to the topics of alarm_actions."
  }
}

run "rejects_a_topic_of_another_region" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:123456789012:leave-calendar-paging"]
  }

  expect_failures = [var.alarm_actions]
}

run "rejects_long_name" {
  command = plan

  variables {
    name = "leave-calendar-production-eu"
  }

  expect_failures = [var.name]
}

# The GitHub deploy role and the permissions boundary allow only the tables `<name>-*`.
run "a_table_named_under_the_stacks_name_is_accepted" {
  command = plan

  variables {
    table_name = "leave-calendar-leave-v2"
  }

  assert {
    condition     = output.table_name == "leave-calendar-leave-v2"
    error_message = "A table name starting with `<name>-` must be used as given."
  }
}

run "rejects_a_table_named_outside_the_stacks_name" {
  command = plan

  variables {
    table_name = "leave-table"
  }

  expect_failures = [var.table_name]
}

run "rejects_a_table_of_a_stack_whose_name_only_starts_the_same" {
  command = plan

  variables {
    name       = "leave"
    table_name = "leavecalendar-leave"
  }

  expect_failures = [var.table_name]
}

run "a_domain_name_without_a_certificate_is_served_over_http" {
  command = plan

  variables {
    domain_name   = "calendar.example.com"
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"]
  }

  assert {
    condition     = output.app_url == "http://calendar.example.com"
    error_message = "Without a certificate app_url is http:// and domain_name."
  }
}

# The certificate cannot name the load balancer's DNS name: app_url would be a URL no client
# accepts, and the deploy's smoke test would fail against it.
run "requires_a_domain_name_with_a_certificate" {
  command = plan

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }

  expect_failures = [var.domain_name]
}

run "rejects_a_domain_name_that_is_a_url" {
  command = plan

  variables {
    domain_name = "https://calendar.example.com/"
  }

  expect_failures = [var.domain_name]
}

run "rejects_bad_region" {
  command = plan

  variables {
    region = "Ireland"
  }

  expect_failures = [var.region]
}

run "rejects_a_boundary_that_is_not_a_policy_arn" {
  command = plan

  variables {
    role_permissions_boundary = "arn:aws:iam::123456789012:role/github-deploy-leave-calendar"
  }

  expect_failures = [var.role_permissions_boundary]
}

run "rejects_an_alarm_action_that_is_not_an_sns_topic" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:paging", "arn:aws:lambda:eu-west-1:123456789012:function:paging"]
  }

  expect_failures = [var.alarm_actions]
}

run "rejects_a_log_key_that_is_not_a_kms_key" {
  command = plan

  variables {
    log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }

  expect_failures = [var.log_kms_key_arn]
}

run "rejects_a_malformed_digest" {
  command = plan

  variables {
    image_digest = "sha256:not-a-digest"
  }

  expect_failures = [var.image_digest]
}

run "requires_an_image" {
  command = plan

  variables {
    image_digest = null
  }

  expect_failures = [var.image_tag]
}
