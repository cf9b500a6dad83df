data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  container_name = "app"
  image          = var.image_digest != null ? "${var.image_repository_url}@${var.image_digest}" : "${var.image_repository_url}:${var.image_tag}"

  # The application's configuration contract; sorted by name so ECS returns it unchanged.
  environment = {
    AWS_REGION            = local.region
    BIND_ADDRESS          = "0.0.0.0"
    DYNAMODB_TABLE        = var.table_name
    LOG_FORMAT            = "json"
    PORT                  = tostring(var.app_port)
    SHUTDOWN_TIMEOUT_SECS = tostring(var.shutdown_timeout_secs)
    STORE                 = "dynamodb"
  }

  container = {
    name                   = local.container_name
    image                  = local.image
    essential              = true
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    privileged             = false
    stopTimeout            = var.stop_timeout

    portMappings = [{
      containerPort = var.app_port
      hostPort      = var.app_port
      protocol      = "tcp"
    }]

    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]

    linuxParameters = {
      capabilities = { add = [], drop = ["ALL"] }
    }

    # The image has no shell and no curl: the binary itself probes its /health endpoint.
    healthCheck = {
      command     = ["CMD", "/leave-calendar", "healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "app"
        # Set here, not left to the account's default: in blocking mode a slow or unreachable
        # CloudWatch Logs (its one interface endpoint without a NAT) fills the pipe of the
        # app's standard output, and its requests wait behind their log lines. Non-blocking
        # keeps serving and, past the buffer, drops lines instead.
        mode              = "non-blocking"
        "max-buffer-size" = "25m"
      }
    }

    mountPoints = []
    volumesFrom = []
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.enable_container_insights ? "enabled" : "disabled"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Application logs are kept 90 days by default (log_retention_days); keeping them a year is a cost choice left to the operator, audit trails belong in CloudTrail.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([local.container])

  # Each deployment registers a new revision; the previous ones stay ACTIVE instead of being
  # deregistered, so an operator can roll back at once with `aws ecs update-service
  # --task-definition <family>:<revision>` (see the README). Also kept after a destroy.
  skip_destroy = true

  tags = var.tags
}

# Its description is fixed: AWS cannot change a group's description, so a new one replaces the
# group, and deleting the old one fails while the tasks' interfaces still use it.
resource "aws_security_group" "this" {
  name        = "${var.name}-tasks"
  description = "Tasks: the application port from the load balancer only; HTTPS out to AWS APIs"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-tasks" })
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.this.id
  description                  = "Application port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = var.alb_security_group_id

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https_cidr" {
  for_each = toset(var.https_egress_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "HTTPS to AWS APIs (ECR, CloudWatch Logs, DynamoDB)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https_security_group" {
  count = length(var.https_egress_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to AWS services through interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.https_egress_security_group_ids[count.index]

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https_prefix_list" {
  count = length(var.https_egress_prefix_list_ids)

  security_group_id = aws_security_group.this.id
  description       = "HTTPS to AWS services through gateway endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.https_egress_prefix_list_ids[count.index]

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  wait_for_steady_state              = var.wait_for_steady_state
  # After a zone's outage the tasks started meanwhile all run in the other zones; ECS moves
  # them back so that the next outage does not take every task at once.
  availability_zone_rebalancing = "ENABLED"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # New tasks can pass the health check (which never touches the store) and still fail every
  # request, with a task role DynamoDB refuses for one. Their 5xx during the deployment and its
  # bake time roll the service back too. The target group's count cannot tell them from the old
  # tasks' 5xx: a fix for a release failing at that rate, or one deployed during a store outage,
  # is deployed with `deployment_alarm_rollback = false`.
  alarms {
    alarm_names = [aws_cloudwatch_metric_alarm.deployment_5xx.alarm_name]
    enable      = var.deployment_alarm_rollback
    rollback    = var.deployment_alarm_rollback
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = local.container_name
    container_port   = var.app_port
  }

  lifecycle {
    # Autoscaling owns the task count once the service exists.
    ignore_changes = [desired_count]
  }

  tags = var.tags

  # The roles' policies must exist before tasks start, and stay until the tasks are gone.
  depends_on = [aws_iam_role_policy.execution, aws_iam_role_policy.task]
}

# The deployment's alarm (above): the app's 5xx through the load balancer, minute by minute. Any
# failing release trips it within a minute of traffic, the deploy's smoke test included, which
# asks `/ready` (one DynamoDB read) every 3 seconds.
resource "aws_cloudwatch_metric_alarm" "deployment_5xx" {
  alarm_name        = "${var.name}-deployment-5xx"
  alarm_description = "The tasks answered ${var.deployment_5xx_threshold} or more 5xx in one minute. During a deployment ECS then rolls the service back to the previous task definition; see the service's events and the tasks' logs."

  namespace   = "AWS/ApplicationELB"
  metric_name = "HTTPCode_Target_5XX_Count"
  dimensions = {
    LoadBalancer = var.alb_arn_suffix
    TargetGroup  = var.target_group_arn_suffix
  }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.deployment_5xx_threshold
  # The count is published only for minutes with 5xx.
  treat_missing_data = "notBreaching"

  tags = var.tags
}

# The service as ECS runs it once the apply's wait for a steady state is over. When the new
# tasks never become healthy, the circuit breaker rolls the service back to the previous task
# definition; the service is then steady again and the provider's wait reports success
# (hashicorp/terraform-provider-aws#19519). The task definition the service runs after the wait
# tells the two apart: if it is not the one this apply registered, the apply fails.
data "aws_ecs_service" "deployed" {
  count = var.wait_for_steady_state ? 1 : 0

  cluster_arn  = aws_ecs_cluster.this.arn
  service_name = aws_ecs_service.this.name

  lifecycle {
    postcondition {
      condition     = self.task_definition == aws_ecs_task_definition.this.arn
      error_message = "The deployment of ${aws_ecs_task_definition.this.arn} failed: ECS rolled the service back to ${self.task_definition}, which keeps serving. The service's events and the tasks' logs say why the new tasks did not become healthy."
    }
  }
}
