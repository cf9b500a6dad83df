# --- The service on one page ---------------------------------------------------------------------
# A CloudWatch dashboard named `<name>`: the alarms' states across the top, then what they watch,
# as graphs an on-call engineer reads when one fires: traffic and errors at the load balancer,
# response times, tasks, CPU and memory, DynamoDB's capacity, latency, throttles and errors, and
# the application's ERROR lines. The graphs of latency, tasks and memory draw their alarm's
# threshold as a line.

locals {
  region = data.aws_region.current.name

  # The alarms' ARNs, built from their names: known at plan, so the dashboard's body is too.
  alarm_arn_prefix = "arn:${data.aws_partition.current.partition}:cloudwatch:${local.region}:${data.aws_caller_identity.current.account_id}:alarm:"
  dashboard_alarms = [for alarm in values(local.alarms) : "${local.alarm_arn_prefix}${alarm.alarm_name}"]

  # The alarms' dimensions (main.tf) as a graph's metric line spells them: the namespace and
  # the metric, then each dimension's name and value, then the line's options.
  metric_dimensions = { for what, dimensions in {
    alb          = local.alb
    target_group = local.alb_target_group
    service      = local.service
    table        = local.table
  } : what => flatten([for name, value in dimensions : [name, value]]) }

  # Alarm thresholds drawn across their graphs, where the graph plots what the alarm compares.
  threshold = { for key, line in {
    latency = { label = "latency alarm", value = var.latency_p99_threshold_seconds }
    tasks   = { label = "minimum tasks", value = var.min_capacity }
    memory  = { label = "memory alarm", value = var.memory_threshold_percent }
  } : key => { horizontal = [line] } }

  # The graphs, three to a row, in reading order.
  graphs = [
    {
      title   = "Requests (per minute)"
      stat    = "Sum"
      metrics = [concat(["AWS/ApplicationELB", "RequestCount"], local.metric_dimensions.target_group, [{ label = "requests" }])]
    },
    {
      title = "Error answers (per minute)"
      stat  = "Sum"
      metrics = [
        concat(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"], local.metric_dimensions.target_group, [{ label = "5xx from the app" }]),
        concat(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"], local.metric_dimensions.alb, [{ label = "5xx from the load balancer" }]),
        concat(["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count"], local.metric_dimensions.target_group, [{ label = "4xx from the app" }]),
      ]
    },
    {
      title       = "Response time (seconds)"
      stat        = "p99"
      annotations = local.threshold.latency
      metrics = [
        concat(["AWS/ApplicationELB", "TargetResponseTime"], local.metric_dimensions.target_group, [{ label = "p99" }]),
        concat(["AWS/ApplicationELB", "TargetResponseTime"], local.metric_dimensions.target_group, [{ label = "p50", stat = "p50" }]),
      ]
    },
    {
      title       = "Tasks"
      stat        = "Maximum"
      annotations = local.threshold.tasks
      metrics = [
        concat(["ECS/ContainerInsights", "RunningTaskCount"], local.metric_dimensions.service, [{ label = "running" }]),
        concat(["ECS/ContainerInsights", "DesiredTaskCount"], local.metric_dimensions.service, [{ label = "desired" }]),
        concat(["AWS/ApplicationELB", "HealthyHostCount"], local.metric_dimensions.target_group, [{ label = "healthy targets" }]),
        concat(["AWS/ApplicationELB", "UnHealthyHostCount"], local.metric_dimensions.target_group, [{ label = "unhealthy targets" }]),
      ]
    },
    {
      title       = "CPU and memory (% of a task's, highest task)"
      stat        = "Maximum"
      annotations = local.threshold.memory
      metrics = [
        concat(["AWS/ECS", "CPUUtilization"], local.metric_dimensions.service, [{ label = "CPU" }]),
        concat(["AWS/ECS", "MemoryUtilization"], local.metric_dimensions.service, [{ label = "memory" }]),
      ]
    },
    {
      title = "DynamoDB capacity used (units per minute)"
      stat  = "Sum"
      metrics = [
        concat(["AWS/DynamoDB", "ConsumedReadCapacityUnits"], local.metric_dimensions.table, [{ label = "read" }]),
        concat(["AWS/DynamoDB", "ConsumedWriteCapacityUnits"], local.metric_dimensions.table, [{ label = "write" }]),
      ]
    },
    {
      title = "DynamoDB latency (milliseconds, average)"
      stat  = "Average"
      metrics = [for op in var.dynamodb_operations :
        concat(["AWS/DynamoDB", "SuccessfulRequestLatency"], local.metric_dimensions.table, ["Operation", op, { label = op }])
      ]
    },
    {
      title = "DynamoDB throttles and errors (per minute)"
      stat  = "Sum"
      metrics = concat(
        [
          concat(["AWS/DynamoDB", "ReadThrottleEvents"], local.metric_dimensions.table, [{ label = "throttled reads" }]),
          concat(["AWS/DynamoDB", "WriteThrottleEvents"], local.metric_dimensions.table, [{ label = "throttled writes" }]),
        ],
        [for op in var.dynamodb_operations :
          concat(["AWS/DynamoDB", "SystemErrors"], local.metric_dimensions.table, ["Operation", op, { label = "system errors, ${op}" }])
        ],
      )
    },
    {
      title = "Application ERROR lines, undelivered service events (per minute)"
      stat  = "Sum"
      metrics = [
        [local.app_errors_namespace, local.app_errors_metric, { label = "ERROR lines" }],
        ["AWS/Events", "FailedInvocations", "RuleName", aws_cloudwatch_event_rule.service_events.name, { label = "undelivered events" }],
      ]
    },
  ]

  dashboard_widgets = concat(
    [{
      type   = "alarm"
      x      = 0
      y      = 0
      width  = 24
      height = 3
      properties = {
        title  = "Alarms"
        alarms = local.dashboard_alarms
      }
    }],
    [for i, graph in local.graphs : {
      type   = "metric"
      x      = (i % 3) * 8
      y      = 3 + floor(i / 3) * 6
      width  = 8
      height = 6
      properties = merge(
        {
          title   = graph.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = graph.stat
          metrics = graph.metrics
          yAxis   = { left = { min = 0 } }
        },
        can(graph.annotations) ? { annotations = graph.annotations } : {},
      )
    }],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.enable_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
