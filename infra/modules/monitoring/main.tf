data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # Every alarm notifies the same topics when it fires and when it clears.
  actions = var.alarm_actions

  alb = { LoadBalancer = var.alb_arn_suffix }
  alb_target_group = {
    LoadBalancer = var.alb_arn_suffix
    TargetGroup  = var.target_group_arn_suffix
  }
  service = {
    ClusterName = var.cluster_name
    ServiceName = var.service_name
  }
  table = { TableName = var.table_name }

  # Metric of the application's ERROR lines (log metric filter below).
  app_errors_namespace = "LeaveCalendar/${var.name}"
  app_errors_metric    = "ErrorLogLines"
}

# --- Alarms on one metric with a plain statistic -----------------------------------------------
# Eight alarms differ only in what they read and when they fire: one resource, keyed by the alarm's
# short name (the alarm is `<name>-<key>`). The other three have a shape of their own: a percentile
# (latency-p99), metric math over several metrics (dynamodb-system-errors), and the metric of this
# module's log metric filter (app-errors).

locals {
  # A count published only for periods in which it is not zero (5xx answers, throttled requests):
  # its sum over 5 minutes above the threshold fires, and no data means none happened.
  count_over_5_minutes = {
    statistic           = "Sum"
    period              = 300
    comparison_operator = "GreaterThanThreshold"
    evaluation_periods  = 1
    treat_missing_data  = "notBreaching"
  }

  simple_alarms = {
    "elb-5xx" = merge(local.count_over_5_minutes, {
      description = "The load balancer itself answered more than ${var.elb_5xx_threshold} 5xx in 5 minutes (502/503/504: no healthy target, a target that closed the connection or timed out). See the unhealthy-targets and running-tasks alarms, then the service's events."
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = local.alb
      threshold   = var.elb_5xx_threshold
    })
    "target-5xx" = merge(local.count_over_5_minutes, {
      description = "The application answered more than ${var.target_5xx_threshold} 5xx in 5 minutes. Its log group (${var.log_group_name}) has the ERROR lines; the DynamoDB alarms say whether the table is the cause."
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_target_group
      threshold   = var.target_5xx_threshold
    })
    # The ALB publishes UnHealthyHostCount every minute while the target group is in use; a gap is
    # not a failure this alarm can see (running-tasks watches for tasks that are gone).
    "unhealthy-targets" = {
      description         = "At least one task has failed the load balancer's health check (GET /health) for ${var.unhealthy_minutes} consecutive minutes. ECS replaces such tasks; if this persists, the new ones fail too: see the service's events and the tasks' logs."
      namespace           = "AWS/ApplicationELB"
      metric_name         = "UnHealthyHostCount"
      dimensions          = local.alb_target_group
      statistic           = "Maximum"
      period              = 60
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      evaluation_periods  = var.unhealthy_minutes
      treat_missing_data  = "notBreaching"
    }
    # Container Insights publishes RunningTaskCount every minute while the service has tasks. No
    # data at all is the case to wake someone for (no task left, or Container Insights turned
    # off), so missing data counts as breaching.
    "running-tasks" = {
      description         = "Fewer than ${var.min_capacity} tasks (the service's minimum) have been running for 5 consecutive minutes, or Container Insights reports none at all. See the service's events: tasks that fail to start or stop on their own."
      namespace           = "ECS/ContainerInsights"
      metric_name         = "RunningTaskCount"
      dimensions          = local.service
      statistic           = "Maximum"
      period              = 60
      comparison_operator = "LessThanThreshold"
      threshold           = var.min_capacity
      evaluation_periods  = 5
      treat_missing_data  = "breaching"
    }
    # ECS publishes the service's memory use every minute, the highest task's as its Maximum. A
    # task over its memory is killed (OutOfMemory) and replaced, which no other alarm tells from
    # a crash; this one fires before that, on a leak or a load the task size does not fit.
    "memory" = {
      description         = "A task has used more than ${var.memory_threshold_percent}% of its memory for 5 consecutive minutes. Past 100% ECS kills it (OutOfMemory in the stopped task's reason): see the tasks' memory in Container Insights, then raise the task's memory or find the leak."
      namespace           = "AWS/ECS"
      metric_name         = "MemoryUtilization"
      dimensions          = local.service
      statistic           = "Maximum"
      period              = 60
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.memory_threshold_percent
      evaluation_periods  = 5
      treat_missing_data  = "notBreaching"
    }
    "dynamodb-read-throttles" = merge(local.count_over_5_minutes, {
      description = "DynamoDB throttled more than ${var.dynamodb_throttle_threshold} reads of ${var.table_name} in 5 minutes (the app retries, users see slow pages or 503s)."
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = local.table
      threshold   = var.dynamodb_throttle_threshold
    })
    "dynamodb-write-throttles" = merge(local.count_over_5_minutes, {
      description = "DynamoDB throttled more than ${var.dynamodb_throttle_threshold} writes of ${var.table_name} in 5 minutes (the app retries, users see slow bookings or 503s)."
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = local.table
      threshold   = var.dynamodb_throttle_threshold
    })
    # EventBridge counts the deliveries of a rule's events that failed for good, after its
    # retries: a topic whose policy does not let events.amazonaws.com publish, or whose key
    # EventBridge may not use. Without this alarm, such a topic would drop the service's events
    # unseen (events.tf). Its OK says only that the last 5 minutes had no failure: the events
    # that failed are gone.
    "service-events-undelivered" = merge(local.count_over_5_minutes, {
      description = "EventBridge could not deliver events of ${var.service_name} (failed deployments, tasks that do not start) to the alarm topics, and dropped them: the topics' policy must let events.amazonaws.com publish (with aws:SourceArn the rule ${aws_cloudwatch_event_rule.service_events.name}), and their key, if any, let it use the key. See the service's events in the ECS console."
      namespace   = "AWS/Events"
      metric_name = "FailedInvocations"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.service_events.name }
      threshold   = 0
    })
  }
}

resource "aws_cloudwatch_metric_alarm" "simple" {
  for_each = local.simple_alarms

  alarm_name        = "${var.name}-${each.key}"
  alarm_description = each.value.description

  namespace   = each.value.namespace
  metric_name = each.value.metric_name
  dimensions  = each.value.dimensions
  statistic   = each.value.statistic
  period      = each.value.period

  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data

  alarm_actions = local.actions
  ok_actions    = local.actions

  tags = var.tags
}

# These six alarms were separate resources before: their state moves to the keys, so an existing
# deployment keeps its alarms. Without the moves an apply would delete the old addresses' alarms
# and create the new ones, of the same names, in no set order: a delete could remove an alarm
# just created.
moved {
  from = aws_cloudwatch_metric_alarm.elb_5xx
  to   = aws_cloudwatch_metric_alarm.simple["elb-5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.target_5xx
  to   = aws_cloudwatch_metric_alarm.simple["target-5xx"]
}

moved {
  from = aws_cloudwatch_metric_alarm.unhealthy_targets
  to   = aws_cloudwatch_metric_alarm.simple["unhealthy-targets"]
}

moved {
  from = aws_cloudwatch_metric_alarm.running_tasks
  to   = aws_cloudwatch_metric_alarm.simple["running-tasks"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dynamodb_read_throttles
  to   = aws_cloudwatch_metric_alarm.simple["dynamodb-read-throttles"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dynamodb_write_throttles
  to   = aws_cloudwatch_metric_alarm.simple["dynamodb-write-throttles"]
}

# --- Latency ------------------------------------------------------------------------------------
# A percentile, not a statistic: the p99 of the application's response times. Missing data is
# "notBreaching", as for the load balancer's counts (no requests, no response time).

resource "aws_cloudwatch_metric_alarm" "latency_p99" {
  alarm_name        = "${var.name}-latency-p99"
  alarm_description = "The slowest 1 % of the application's responses took more than ${var.latency_p99_threshold_seconds} s, in each of 3 consecutive 5-minute periods. Check DynamoDB (throttles, system errors) and the tasks' CPU."

  namespace          = "AWS/ApplicationELB"
  metric_name        = "TargetResponseTime"
  dimensions         = local.alb_target_group
  extended_statistic = "p99"
  period             = 300

  comparison_operator = "GreaterThanThreshold"
  threshold           = var.latency_p99_threshold_seconds
  evaluation_periods  = 3
  treat_missing_data  = "notBreaching"
  # CloudWatch would otherwise skip periods with fewer than 1,000 requests (10 / (1 - 0.99)),
  # which for this application is nearly every period: the alarm would never evaluate.
  evaluate_low_sample_count_percentiles = "evaluate"

  alarm_actions = local.actions
  ok_actions    = local.actions

  tags = var.tags
}

# --- DynamoDB system errors ---------------------------------------------------------------------
# DynamoDB publishes system errors only when they happen: missing data is "notBreaching".

# SystemErrors exists only per (TableName, Operation). One alarm adds up the operations the
# application calls: a fault on DynamoDB's side is one incident, whichever calls it hits, and
# pages once; the alarm's graph still shows each operation's series.
resource "aws_cloudwatch_metric_alarm" "dynamodb_system_errors" {
  alarm_name        = "${var.name}-dynamodb-system-errors"
  alarm_description = "DynamoDB answered requests on ${var.table_name} with an internal error (HTTP 500) in the last 5 minutes (${join(", ", var.dynamodb_operations)}). A fault on AWS's side: check the AWS Health Dashboard."

  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "errors"
    label       = "SystemErrors of ${join(", ", var.dynamodb_operations)}"
    expression  = "SUM(METRICS())"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = var.dynamodb_operations

    content {
      id          = lower(metric_query.value)
      return_data = false

      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "SystemErrors"
        dimensions  = merge(local.table, { Operation = metric_query.value })
        stat        = "Sum"
        period      = 300
      }
    }
  }

  alarm_actions = local.actions
  ok_actions    = local.actions

  tags = var.tags
}

# --- Application errors -------------------------------------------------------------------------

# The application logs one JSON object per line (LOG_FORMAT=json); every line whose level is
# ERROR (an internal error answered with a 5xx, or a fatal error at start) counts 1. Lines of
# other levels count 0, so the metric has data whenever the application logs.
resource "aws_cloudwatch_log_metric_filter" "this" {
  name           = "${var.name}-error-lines"
  log_group_name = var.log_group_name
  pattern        = "{ $.level = \"ERROR\" }"

  metric_transformation {
    namespace     = local.app_errors_namespace
    name          = local.app_errors_metric
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "app_errors" {
  alarm_name        = "${var.name}-app-errors"
  alarm_description = "The application logged at least one ERROR line in the last 5 minutes: ${var.log_group_name}, filter { $.level = \"ERROR\" }."

  namespace   = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].namespace
  metric_name = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].name
  statistic   = "Sum"
  period      = 300

  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = local.actions
  ok_actions    = local.actions

  tags = var.tags
}
