# Rules of the service module (issue points 4 and 5), in plan mode against a mocked provider.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan

  mock_resource "aws_security_group" {}
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/lc" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/lc" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/lc" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/lc:1" }
  }

  # A distinct ARN per role, so that a task definition using the wrong role is seen.
  override_resource {
    target = aws_iam_role.task
    values = { arn = "arn:aws:iam::123456789012:role/lc-task" }
  }
  override_resource {
    target = aws_iam_role.execution
    values = { arn = "arn:aws:iam::123456789012:role/lc-execution" }
  }

  # The GitHub OIDC module's policies (the boundary run): distinct ARNs too.
  override_resource {
    target = aws_iam_policy.role_boundary
    values = { arn = "arn:aws:iam::123456789012:policy/github-deploy-lc-role-boundary" }
  }
  override_resource {
    target = aws_iam_policy.read
    values = { arn = "arn:aws:iam::123456789012:policy/github-read-lc" }
  }
}

# The same for the runs that apply: there, computed values must be made once, at apply, or the
# apply would not match its plan.
mock_provider "aws" {
  alias  = "applying"
  source = "./tests/mocks"

  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/lc" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/lc" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/lc" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/lc:1" }
  }

  override_resource {
    target = aws_iam_role.task
    values = { arn = "arn:aws:iam::123456789012:role/lc-task" }
  }
  override_resource {
    target = aws_iam_role.execution
    values = { arn = "arn:aws:iam::123456789012:role/lc-execution" }
  }
}

variables {
  name                    = "lc"
  vpc_id                  = "vpc-0123456789abcdef0"
  private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  alb_security_group_id   = "sg-0aaaaaaaaaaaaaaa0"
  target_group_arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lc-app/0123456789abcdef"
  alb_arn_suffix          = "app/lc/0123456789abcdef"
  target_group_arn_suffix = "targetgroup/lc-app/0123456789abcdef"
  image_repository_url    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lc"
  image_repository_arn    = "arn:aws:ecr:eu-west-1:123456789012:repository/lc"
  image_digest            = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
  table_name              = "lc-leave"
  table_arn               = "arn:aws:dynamodb:eu-west-1:123456789012:table/lc-leave"
  dynamodb_actions = [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]
}

run "task_definition_is_hardened" {
  command = plan

  module {
    source = "./modules/service"
  }

  assert {
    condition     = aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"]) && aws_ecs_task_definition.this.network_mode == "awsvpc" && aws_ecs_task_definition.this.cpu == "256" && aws_ecs_task_definition.this.memory == "512"
    error_message = "The task must be a Fargate awsvpc task of the given size."
  }

  assert {
    condition     = aws_ecs_task_definition.this.runtime_platform[0].cpu_architecture == "X86_64" && aws_ecs_task_definition.this.runtime_platform[0].operating_system_family == "LINUX"
    error_message = "The default platform is Linux on x86_64."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The container's root filesystem must be read-only."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].user == "65532:65532" && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].privileged == false
    error_message = "The container must run as the non-root user 65532:65532, unprivileged."
  }

  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].linuxParameters.capabilities.add) == 0 && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].linuxParameters.capabilities.drop == ["ALL"]
    error_message = "The container must add no capability and drop all."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.command == ["CMD", "/leave-calendar", "healthcheck"]
    error_message = "The container health check must run the binary's healthcheck subcommand."
  }

  assert {
    condition = (
      jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.interval == 15
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.timeout == 5
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.retries == 3
      && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].healthCheck.startPeriod == 10
    )
    error_message = "The container health check must run every 15 s, time out after 5 s, and mark the task unhealthy after 3 failures, 10 s after start at the earliest."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].stopTimeout == 30 && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].stopTimeout > tonumber({ for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value }["SHUTDOWN_TIMEOUT_SECS"])
    error_message = "stopTimeout must be 30 s, longer than the app's SHUTDOWN_TIMEOUT_SECS."
  }

  assert {
    condition = { for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name => e.value } == {
      STORE                 = "dynamodb"
      DYNAMODB_TABLE        = "lc-leave"
      AWS_REGION            = "eu-west-1"
      PORT                  = "8080"
      BIND_ADDRESS          = "0.0.0.0"
      LOG_FORMAT            = "json"
      SHUTDOWN_TIMEOUT_SECS = "20"
    }
    error_message = "The environment must be exactly the app's contract (store, table, region, port, bind address, log format, shutdown timeout)."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].portMappings == [{ containerPort = 8080, hostPort = 8080, protocol = "tcp" }]
    error_message = "The container must expose only the application port."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lc@sha256:1111111111111111111111111111111111111111111111111111111111111111"
    error_message = "The image must be the repository pinned by digest."
  }

  assert {
    condition = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].logConfiguration == {
      logDriver = "awslogs"
      options = {
        awslogs-group         = "/ecs/lc"
        awslogs-region        = "eu-west-1"
        awslogs-stream-prefix = "app"
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
    error_message = "The container must log with awslogs to the service's log group, in non-blocking mode (a slow CloudWatch Logs must not stall the app's requests)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 90
    error_message = "The log group must have a retention."
  }

  assert {
    condition     = one(aws_ecs_cluster.this.setting).name == "containerInsights" && one(aws_ecs_cluster.this.setting).value == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = aws_ecs_task_definition.this.skip_destroy == true
    error_message = "Earlier task definition revisions must stay registered (skip_destroy), so a deployment can be rolled back by hand."
  }
}

run "service_is_private_and_safe_to_deploy" {
  command = plan

  module {
    source = "./modules/service"
  }

  assert {
    condition     = aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "Tasks must not get a public IP."
  }

  assert {
    condition     = toset(aws_ecs_service.this.network_configuration[0].subnets) == toset(var.private_subnet_ids) && aws_ecs_service.this.network_configuration[0].security_groups == toset([aws_security_group.this.id])
    error_message = "Tasks must run in the private subnets with the tasks' security group only."
  }

  assert {
    condition     = aws_ecs_service.this.launch_type == "FARGATE"
    error_message = "The service must run on Fargate."
  }

  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "The deployment circuit breaker must be on, with rollback."
  }

  assert {
    condition = (
      one(aws_ecs_service.this.alarms[*].enable) == true
      && one(aws_ecs_service.this.alarms[*].rollback) == true
      && one(aws_ecs_service.this.alarms[*].alarm_names) == toset([aws_cloudwatch_metric_alarm.deployment_5xx.alarm_name])
    )
    error_message = "Deployments must watch the deployment's 5xx alarm, with rollback."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.deployment_5xx.metric_name == "HTTPCode_Target_5XX_Count"
      && aws_cloudwatch_metric_alarm.deployment_5xx.dimensions == tomap({ LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix })
      && aws_cloudwatch_metric_alarm.deployment_5xx.period == 60
      && aws_cloudwatch_metric_alarm.deployment_5xx.threshold == var.deployment_5xx_threshold
      && aws_cloudwatch_metric_alarm.deployment_5xx.comparison_operator == "GreaterThanOrEqualToThreshold"
      && aws_cloudwatch_metric_alarm.deployment_5xx.treat_missing_data == "notBreaching"
    )
    error_message = "The deployment's alarm must count this target group's 5xx minute by minute, from the threshold on."
  }

  assert {
    condition     = aws_ecs_service.this.availability_zone_rebalancing == "ENABLED"
    error_message = "ECS must spread the tasks over the zones again after a zone's outage."
  }

  assert {
    condition     = aws_ecs_service.this.deployment_minimum_healthy_percent == 100 && aws_ecs_service.this.deployment_maximum_percent == 200
    error_message = "Deployments must keep 100% healthy and may go up to 200%."
  }

  assert {
    condition     = aws_ecs_service.this.health_check_grace_period_seconds == 30
    error_message = "The service must have a health-check grace period."
  }

  assert {
    condition     = aws_ecs_service.this.wait_for_steady_state == true
    error_message = "apply must wait for a steady state, so a broken image fails it."
  }

  assert {
    condition     = one(aws_ecs_service.this.load_balancer).target_group_arn == var.target_group_arn && one(aws_ecs_service.this.load_balancer).container_port == 8080 && one(aws_ecs_service.this.load_balancer).container_name == jsondecode(aws_ecs_task_definition.this.container_definitions)[0].name
    error_message = "The service must register the application container's port in the target group."
  }

  assert {
    condition     = aws_ecs_service.this.desired_count == 2
    error_message = "The service starts with desired_count tasks."
  }
}

# A fix for a release that fails is deployed without the alarm's rollback; the alarm stays.
run "deployment_alarm_rollback_off" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    deployment_alarm_rollback = false
  }

  assert {
    condition = (
      one(aws_ecs_service.this.alarms[*].enable) == false
      && one(aws_ecs_service.this.alarms[*].rollback) == false
      && aws_cloudwatch_metric_alarm.deployment_5xx.alarm_name == "lc-deployment-5xx"
      && one(aws_ecs_service.this.deployment_circuit_breaker[*].rollback) == true
    )
    error_message = "deployment_alarm_rollback = false must stop deployments watching the alarm, and only that."
  }
}

run "only_the_alb_reaches_the_tasks" {
  command = plan

  module {
    source = "./modules/service"
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_alb.referenced_security_group_id == var.alb_security_group_id && aws_vpc_security_group_ingress_rule.from_alb.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.from_alb.to_port == 8080 && aws_vpc_security_group_ingress_rule.from_alb.ip_protocol == "tcp"
    error_message = "Only the load balancer's security group may reach the tasks, on the application port only."
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.https_cidr) == 1 && alltrue([for r in aws_vpc_security_group_egress_rule.https_cidr : r.from_port == 443 && r.to_port == 443 && r.ip_protocol == "tcp"]) && length(aws_vpc_security_group_egress_rule.https_prefix_list) == 0
    error_message = "Tasks may only make HTTPS calls out."
  }
}

run "egress_through_endpoints_only" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    https_egress_cidr_blocks        = []
    https_egress_security_group_ids = ["sg-0endpoints"]
    https_egress_prefix_list_ids    = ["pl-6da54004", "pl-6fa54006"]
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.https_cidr) == 0 && aws_vpc_security_group_egress_rule.https_security_group[*].referenced_security_group_id == ["sg-0endpoints"] && toset(aws_vpc_security_group_egress_rule.https_prefix_list[*].prefix_list_id) == toset(["pl-6da54004", "pl-6fa54006"])
    error_message = "Without NAT, egress goes to the interface endpoints' security group and the gateway endpoints' prefix lists only."
  }

  assert {
    condition     = alltrue([for rule in aws_vpc_security_group_egress_rule.https_security_group : rule.ip_protocol == "tcp" && rule.from_port == 443 && rule.to_port == 443])
    error_message = "Egress to the endpoints is HTTPS only."
  }
}

run "autoscaling_on_cpu_and_requests" {
  command = plan

  module {
    source = "./modules/service"
  }

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 2 && aws_appautoscaling_target.this.max_capacity == 6 && aws_appautoscaling_target.this.resource_id == "service/lc/lc" && aws_appautoscaling_target.this.scalable_dimension == "ecs:service:DesiredCount"
    error_message = "The service's desired count must be scalable between min and max capacity."
  }

  assert {
    condition     = aws_appautoscaling_policy.cpu.policy_type == "TargetTrackingScaling" && aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilization"
    error_message = "There must be a target-tracking policy on CPU."
  }

  assert {
    condition = alltrue([
      for policy in [aws_appautoscaling_policy.cpu, aws_appautoscaling_policy.requests] :
      policy.target_tracking_scaling_policy_configuration[0].scale_out_cooldown == 60
      && policy.target_tracking_scaling_policy_configuration[0].scale_in_cooldown == 300
    ])
    error_message = "Both scaling policies must scale out after 1 minute and in only after 5, so that a burst does not make the count swing."
  }

  assert {
    condition     = aws_appautoscaling_policy.requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ALBRequestCountPerTarget" && aws_appautoscaling_policy.requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label == "app/lc/0123456789abcdef/targetgroup/lc-app/0123456789abcdef"
    error_message = "There must be a target-tracking policy on the load balancer's requests per target."
  }
}

run "least_privilege_iam" {
  command = plan

  module {
    source = "./modules/service"
  }

  assert {
    condition = alltrue(flatten([
      for p in [aws_iam_role_policy.execution.policy, aws_iam_role_policy.task.policy] : [
        for s in jsondecode(p).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]
      ]
    ]))
    error_message = "No IAM policy may have a \"*\" in an action: every action is named."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
      flatten([s.Resource]) != ["*"] || flatten([s.Action]) == ["ecr:GetAuthorizationToken"]
    ])
    error_message = "Only ecr:GetAuthorizationToken may use the resource \"*\"."
  }

  assert {
    condition = (
      { for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Sid => flatten([s.Resource]) } == {
        EcrLogin               = ["*"]
        PullThisRepositoryOnly = [var.image_repository_arn]
        WriteThisLogGroupOnly  = ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/lc:log-stream:*"]
      }
    )
    error_message = "The execution role may pull from this repository and write to this log group only."
  }

  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Action])) == toset(["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "The execution role's actions must be exactly the pull and log actions."
  }

  assert {
    condition     = length(jsondecode(aws_iam_role_policy.task.policy).Statement) == 1
    error_message = "Without a customer key the task role has only the table statement."
  }

  assert {
    condition = (
      toset(jsondecode(aws_iam_role_policy.task.policy).Statement[0].Action) == toset(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]) &&
      !contains(jsondecode(aws_iam_role_policy.task.policy).Statement[0].Action, "dynamodb:Scan")
    )
    error_message = "The task role must allow exactly the app's DynamoDB actions, never Scan."
  }

  assert {
    condition     = toset(jsondecode(aws_iam_role_policy.task.policy).Statement[0].Resource) == toset([var.table_arn, "${var.table_arn}/index/*"])
    error_message = "The task role may use the table and its indexes only."
  }

  assert {
    condition = (
      aws_ecs_task_definition.this.task_role_arn == aws_iam_role.task.arn &&
      aws_ecs_task_definition.this.execution_role_arn == aws_iam_role.execution.arn &&
      aws_iam_role.task.arn != aws_iam_role.execution.arn
    )
    error_message = "The application must run with the task role and the ECS agent with the execution role, never one for the other."
  }

  assert {
    condition     = aws_iam_role.task.path == "/${var.name}/" && aws_iam_role.execution.path == "/${var.name}/"
    error_message = "The stack's roles must be under its IAM path, which the deploy role's IAM rights name: a name prefix would also match roles the stack did not make."
  }

  assert {
    condition     = aws_iam_role.task.permissions_boundary == null && aws_iam_role.execution.permissions_boundary == null
    error_message = "Without role_permissions_boundary the roles have no boundary."
  }

  assert {
    condition = alltrue([
      for r in [aws_iam_role.task, aws_iam_role.execution] :
      jsondecode(r.assume_role_policy).Statement[0].Principal == { Service = "ecs-tasks.amazonaws.com" } &&
      jsondecode(r.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    ])
    error_message = "Only ECS tasks of this account may assume the roles."
  }
}

run "customer_key_grants_only_that_key" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    table_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      jsondecode(aws_iam_role_policy.task.policy).Statement[1].Resource == [var.table_kms_key_arn] &&
      toset(jsondecode(aws_iam_role_policy.task.policy).Statement[1].Action) == toset(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"])
    )
    error_message = "With a customer key the task role may use that key only, for Decrypt, DescribeKey, Encrypt and GenerateDataKey."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.task.policy).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]
    ]))
    error_message = "The key's actions must be named, without a \"*\"."
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

run "roles_carry_the_boundary_and_fit_inside_it" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    role_permissions_boundary = run.boundary.role_permissions_boundary_arn
    table_kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = aws_iam_role.task.permissions_boundary == var.role_permissions_boundary && aws_iam_role.execution.permissions_boundary == var.role_permissions_boundary
    error_message = "With role_permissions_boundary both roles must carry it."
  }

  # Each action on each resource the roles are given must be allowed by a statement of the
  # boundary (its resources read as IAM patterns), or the application would be refused at run time.
  assert {
    condition = alltrue(flatten([
      for p in [aws_iam_role_policy.task.policy, aws_iam_role_policy.execution.policy] : [
        for s in jsondecode(p).Statement : [
          for a in flatten([s.Action]) : [
            for r in flatten([s.Resource]) : anytrue([
              for b in jsondecode(run.boundary.role_permissions_boundary_policy).Statement :
              contains(flatten([b.Action]), a) && anytrue([
                for pattern in flatten([b.Resource]) : can(regex("^${replace(replace(pattern, ".", "\\."), "*", ".*")}$", r))
              ])
            ])
          ]
        ]
      ]
    ]))
    error_message = "The boundary must allow everything the task and execution roles are given."
  }
}

run "rejects_a_boundary_that_is_not_a_policy" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    role_permissions_boundary = "arn:aws:iam::123456789012:role/lc-boundary"
  }

  expect_failures = [var.role_permissions_boundary]
}

run "arm64_and_tag" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    cpu_architecture = "ARM64"
    cpu              = 1024
    memory           = 3072
    image_digest     = null
    image_tag        = "1.2.3"
  }

  assert {
    condition     = aws_ecs_task_definition.this.runtime_platform[0].cpu_architecture == "ARM64" && aws_ecs_task_definition.this.cpu == "1024" && aws_ecs_task_definition.this.memory == "3072"
    error_message = "Architecture and size must follow the variables."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/lc:1.2.3"
    error_message = "A tag must give repository:tag."
  }
}

run "steady_state_wait_can_be_turned_off" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    wait_for_steady_state = false
  }

  assert {
    condition     = aws_ecs_service.this.wait_for_steady_state == false && length(data.aws_ecs_service.deployed) == 0
    error_message = "wait_for_steady_state must follow the variable, and without the wait nothing checks the deployment."
  }
}

# Applied against the mocked provider: the service read back after the wait runs the task
# definition this apply registered, so the check's postcondition holds and the apply succeeds
# (the run below is the same check failing).
run "deployment_that_completed_passes" {
  command   = apply
  providers = { aws = aws.applying }

  module {
    source = "./modules/service"
  }

  override_data {
    target = data.aws_ecs_service.deployed[0]
    values = { task_definition = "arn:aws:ecs:eu-west-1:123456789012:task-definition/lc:1" }
  }

  assert {
    condition     = length(data.aws_ecs_service.deployed) == 1 && data.aws_ecs_service.deployed[0].service_name == aws_ecs_service.this.name
    error_message = "With the wait (the default), the service must be read back after the apply, by its name."
  }
}

# The circuit breaker rolled the service back to the previous task definition: the check fails.
# (An overridden data source is read when planning, so this run plans.)
run "deployment_rolled_back_fails_the_apply" {
  command = plan

  module {
    source = "./modules/service"
  }

  override_data {
    target = data.aws_ecs_service.deployed[0]
    values = { task_definition = "arn:aws:ecs:eu-west-1:123456789012:task-definition/lc:0" }
  }

  expect_failures = [data.aws_ecs_service.deployed[0]]
}

run "rejects_invalid_fargate_pair" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    cpu    = 256
    memory = 4096
  }

  expect_failures = [var.memory]
}

run "rejects_invalid_fargate_cpu" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    cpu    = 300
    memory = 512
  }

  expect_failures = [var.cpu]
}

run "rejects_stop_timeout_not_above_shutdown" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    shutdown_timeout_secs = 30
    stop_timeout          = 30
  }

  expect_failures = [var.shutdown_timeout_secs]
}

run "rejects_stop_timeout_above_fargate_limit" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    stop_timeout = 300
  }

  expect_failures = [var.stop_timeout]
}

run "rejects_unknown_architecture" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    cpu_architecture = "arm"
  }

  expect_failures = [var.cpu_architecture]
}

run "rejects_both_tag_and_digest" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    image_tag = "1.2.3"
  }

  expect_failures = [var.image_tag]
}

run "rejects_neither_tag_nor_digest" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    image_digest = null
  }

  expect_failures = [var.image_tag]
}

run "rejects_malformed_digest" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    image_digest = "sha256:abc"
  }

  expect_failures = [var.image_digest]
}

run "rejects_privileged_port" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    app_port = 80
  }

  expect_failures = [var.app_port]
}

run "rejects_desired_outside_capacity" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    desired_count = 10
  }

  expect_failures = [var.desired_count]
}

run "rejects_wildcard_actions" {
  command = plan

  module {
    source = "./modules/service"
  }

  variables {
    dynamodb_actions = ["dynamodb:*"]
  }

  expect_failures = [var.dynamodb_actions]
}
