# Rules of the alarms (modules/monitoring), in plan mode against a mocked provider: what each
# alarm watches (metric, dimensions, statistic), when it fires (comparison, threshold, periods),
# what missing data means, and that every alarm tells the same topics when it fires and clears.

mock_provider "aws" {
  source = "./tests/mocks"
}

# Every input distinct, so an alarm that watches the wrong resource cannot pass.
variables {
  name                    = "leave-calendar"
  alb_arn_suffix          = "app/leave-calendar/0123456789abcdef"
  target_group_arn_suffix = "targetgroup/leave-calendar-8080/fedcba9876543210"
  cluster_name            = "leave-calendar-cluster"
  service_name            = "leave-calendar-service"
  service_arn             = "arn:aws:ecs:eu-west-1:123456789012:service/leave-calendar-cluster/leave-calendar-service"
  min_capacity            = 3
  table_name              = "leave-calendar-leave"
  log_group_name          = "/ecs/leave-calendar"
  alarm_actions = [
    "arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging",
    "arn:aws:sns:eu-west-1:123456789012:leave-calendar-chat",
  ]
  tags = { Application = "leave-calendar", ManagedBy = "terraform" }
}

run "every_alarm_is_named_tagged_and_tells_the_alarm_actions" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = sort([for a in concat(values(aws_cloudwatch_metric_alarm.simple), [
      aws_cloudwatch_metric_alarm.latency_p99, aws_cloudwatch_metric_alarm.dynamodb_system_errors,
      aws_cloudwatch_metric_alarm.app_errors,
      ]) : a.alarm_name]) == sort([
      "leave-calendar-elb-5xx", "leave-calendar-target-5xx", "leave-calendar-unhealthy-targets",
      "leave-calendar-latency-p99", "leave-calendar-running-tasks", "leave-calendar-memory", "leave-calendar-dynamodb-read-throttles",
      "leave-calendar-dynamodb-write-throttles", "leave-calendar-dynamodb-system-errors", "leave-calendar-app-errors",
      "leave-calendar-service-events-undelivered",
    ])
    error_message = "The alarms must be named <name>-<what> (the deploy role may manage only alarms named <name>-*)."
  }

  assert {
    condition = length(aws_cloudwatch_metric_alarm.simple) == 8 && alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.simple), [
      aws_cloudwatch_metric_alarm.latency_p99, aws_cloudwatch_metric_alarm.dynamodb_system_errors,
      aws_cloudwatch_metric_alarm.app_errors,
      ]) : a.alarm_actions == toset(var.alarm_actions) && a.ok_actions == toset(var.alarm_actions) && a.actions_enabled != false
    ])
    error_message = "Every alarm must notify exactly alarm_actions when it fires and when it clears, with actions enabled."
  }

  assert {
    condition = length(aws_cloudwatch_metric_alarm.simple) == 8 && alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.simple), [
      aws_cloudwatch_metric_alarm.latency_p99, aws_cloudwatch_metric_alarm.dynamodb_system_errors,
      aws_cloudwatch_metric_alarm.app_errors,
    ]) : a.tags == var.tags && a.alarm_description != null])
    error_message = "Every alarm must carry the tags and say what it means."
  }

  assert {
    condition     = output.alarm_names.running_tasks == "leave-calendar-running-tasks" && length(output.alarm_names) == 11
    error_message = "alarm_names must list the eleven alarms."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["memory"].namespace == "AWS/ECS" &&
      aws_cloudwatch_metric_alarm.simple["memory"].metric_name == "MemoryUtilization" &&
      aws_cloudwatch_metric_alarm.simple["memory"].dimensions == tomap({ ClusterName = "leave-calendar-cluster", ServiceName = "leave-calendar-service" }) &&
      aws_cloudwatch_metric_alarm.simple["memory"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.simple["memory"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["memory"].threshold == 90 &&
      aws_cloudwatch_metric_alarm.simple["memory"].evaluation_periods == 5
    )
    error_message = "The memory alarm must fire on the highest task's memory above 90% for 5 minutes."
  }
}

run "load_balancer_errors" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].namespace == "AWS/ApplicationELB" &&
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].metric_name == "HTTPCode_ELB_5XX_Count" &&
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].dimensions == tomap({ LoadBalancer = "app/leave-calendar/0123456789abcdef" })
    )
    error_message = "The ELB 5xx alarm must watch HTTPCode_ELB_5XX_Count of this load balancer."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].statistic == "Sum" && aws_cloudwatch_metric_alarm.simple["elb-5xx"].period == 300 &&
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].threshold == 5 && aws_cloudwatch_metric_alarm.simple["elb-5xx"].evaluation_periods == 1 &&
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].treat_missing_data == "notBreaching"
    )
    error_message = "The ELB 5xx alarm must fire on more than 5 in 5 minutes (sum), missing data not breaching (the count is published only when non-zero)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["target-5xx"].namespace == "AWS/ApplicationELB" &&
      aws_cloudwatch_metric_alarm.simple["target-5xx"].metric_name == "HTTPCode_Target_5XX_Count" &&
      aws_cloudwatch_metric_alarm.simple["target-5xx"].dimensions == tomap({
        LoadBalancer = "app/leave-calendar/0123456789abcdef"
        TargetGroup  = "targetgroup/leave-calendar-8080/fedcba9876543210"
      })
    )
    error_message = "The target 5xx alarm must watch HTTPCode_Target_5XX_Count of the application's target group on this load balancer."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["target-5xx"].statistic == "Sum" && aws_cloudwatch_metric_alarm.simple["target-5xx"].period == 300 &&
      aws_cloudwatch_metric_alarm.simple["target-5xx"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["target-5xx"].threshold == 5 && aws_cloudwatch_metric_alarm.simple["target-5xx"].evaluation_periods == 1 &&
      aws_cloudwatch_metric_alarm.simple["target-5xx"].treat_missing_data == "notBreaching"
    )
    error_message = "The target 5xx alarm must fire on more than 5 in 5 minutes (sum), missing data not breaching."
  }
}

run "unhealthy_targets_and_latency" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].namespace == "AWS/ApplicationELB" &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].metric_name == "UnHealthyHostCount" &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].dimensions == tomap({
        LoadBalancer = "app/leave-calendar/0123456789abcdef"
        TargetGroup  = "targetgroup/leave-calendar-8080/fedcba9876543210"
      })
    )
    error_message = "The unhealthy-targets alarm must watch UnHealthyHostCount of the application's target group on this load balancer."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].statistic == "Maximum" && aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].period == 60 &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].evaluation_periods == 5 &&
      try(aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].datapoints_to_alarm, null) == null &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].treat_missing_data == "notBreaching"
    )
    error_message = "The unhealthy-targets alarm must fire when a target is unhealthy (> 0) in each of 5 consecutive minutes."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.latency_p99.namespace == "AWS/ApplicationELB" &&
      aws_cloudwatch_metric_alarm.latency_p99.metric_name == "TargetResponseTime" &&
      aws_cloudwatch_metric_alarm.latency_p99.dimensions == tomap({
        LoadBalancer = "app/leave-calendar/0123456789abcdef"
        TargetGroup  = "targetgroup/leave-calendar-8080/fedcba9876543210"
      })
    )
    error_message = "The latency alarm must watch TargetResponseTime of the application's target group on this load balancer."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.latency_p99.extended_statistic == "p99" && aws_cloudwatch_metric_alarm.latency_p99.statistic == null &&
      aws_cloudwatch_metric_alarm.latency_p99.period == 300 &&
      aws_cloudwatch_metric_alarm.latency_p99.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.latency_p99.threshold == 1 && aws_cloudwatch_metric_alarm.latency_p99.evaluation_periods == 3 &&
      aws_cloudwatch_metric_alarm.latency_p99.treat_missing_data == "notBreaching" &&
      aws_cloudwatch_metric_alarm.latency_p99.evaluate_low_sample_count_percentiles == "evaluate"
    )
    error_message = "The latency alarm must fire when p99 is above 1 s for 3 consecutive 5-minute periods, evaluated however few the requests."
  }
}

run "running_tasks_below_the_minimum" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["running-tasks"].namespace == "ECS/ContainerInsights" &&
      aws_cloudwatch_metric_alarm.simple["running-tasks"].metric_name == "RunningTaskCount" &&
      aws_cloudwatch_metric_alarm.simple["running-tasks"].dimensions == tomap({ ClusterName = "leave-calendar-cluster", ServiceName = "leave-calendar-service" })
    )
    error_message = "The running-tasks alarm must watch Container Insights' RunningTaskCount of this cluster's service."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["running-tasks"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["running-tasks"].threshold == var.min_capacity &&
      aws_cloudwatch_metric_alarm.simple["running-tasks"].statistic == "Maximum" && aws_cloudwatch_metric_alarm.simple["running-tasks"].period == 60 &&
      aws_cloudwatch_metric_alarm.simple["running-tasks"].evaluation_periods == 5
    )
    error_message = "The running-tasks alarm must fire when fewer than min_capacity tasks run for 5 consecutive minutes."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.simple["running-tasks"].treat_missing_data == "breaching"
    error_message = "No RunningTaskCount at all (no task left, Container Insights off) must count as breaching."
  }
}

run "dynamodb_throttles_and_system_errors" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = alltrue([for key, metric in {
      dynamodb-read-throttles  = "ReadThrottleEvents"
      dynamodb-write-throttles = "WriteThrottleEvents"
      } : aws_cloudwatch_metric_alarm.simple[key].namespace == "AWS/DynamoDB" &&
      aws_cloudwatch_metric_alarm.simple[key].metric_name == metric &&
      aws_cloudwatch_metric_alarm.simple[key].dimensions == tomap({ TableName = "leave-calendar-leave" }) &&
      aws_cloudwatch_metric_alarm.simple[key].statistic == "Sum" && aws_cloudwatch_metric_alarm.simple[key].period == 300 &&
      aws_cloudwatch_metric_alarm.simple[key].evaluation_periods == 1 &&
      aws_cloudwatch_metric_alarm.simple[key].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple[key].threshold == 5 &&
      aws_cloudwatch_metric_alarm.simple[key].treat_missing_data == "notBreaching"
    ])
    error_message = "The throttle alarms must watch ReadThrottleEvents and WriteThrottleEvents of the table: more than 5 in 5 minutes, missing data not breaching."
  }

  # One alarm over the operations the application calls: each operation's SystemErrors of the
  # table (the metric exists only per operation), added up by the one returned expression.
  assert {
    condition = {
      for q in aws_cloudwatch_metric_alarm.dynamodb_system_errors.metric_query : q.id => jsonencode({
        namespace  = q.metric[0].namespace, metric_name = q.metric[0].metric_name,
        dimensions = q.metric[0].dimensions, stat = q.metric[0].stat, period = q.metric[0].period,
      }) if !q.return_data
      } == {
      getitem            = jsonencode({ namespace = "AWS/DynamoDB", metric_name = "SystemErrors", dimensions = { TableName = "leave-calendar-leave", Operation = "GetItem" }, stat = "Sum", period = 300 })
      query              = jsonencode({ namespace = "AWS/DynamoDB", metric_name = "SystemErrors", dimensions = { TableName = "leave-calendar-leave", Operation = "Query" }, stat = "Sum", period = 300 })
      transactwriteitems = jsonencode({ namespace = "AWS/DynamoDB", metric_name = "SystemErrors", dimensions = { TableName = "leave-calendar-leave", Operation = "TransactWriteItems" }, stat = "Sum", period = 300 })
    }
    error_message = "The system-errors alarm must read SystemErrors of the table for GetItem, Query and TransactWriteItems (the application's calls)."
  }

  assert {
    condition = (
      [for q in aws_cloudwatch_metric_alarm.dynamodb_system_errors.metric_query : q.expression if q.return_data] == ["SUM(METRICS())"] &&
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.metric_name == null &&
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.threshold == 0 &&
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.evaluation_periods == 1 &&
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.treat_missing_data == "notBreaching"
    )
    error_message = "The system-errors alarm must fire on any system error of those operations (their sum > 0), missing data not breaching."
  }
}

run "application_error_lines" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = (
      aws_cloudwatch_log_metric_filter.this.log_group_name == "/ecs/leave-calendar" &&
      aws_cloudwatch_log_metric_filter.this.pattern == "{ $.level = \"ERROR\" }" &&
      one(aws_cloudwatch_log_metric_filter.this.metric_transformation).value == "1" &&
      one(aws_cloudwatch_log_metric_filter.this.metric_transformation).default_value == "0"
    )
    error_message = "The metric filter must count the application's log lines whose JSON level is ERROR (1 each, 0 for other lines)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.app_errors.namespace == one(aws_cloudwatch_log_metric_filter.this.metric_transformation).namespace &&
      aws_cloudwatch_metric_alarm.app_errors.metric_name == one(aws_cloudwatch_log_metric_filter.this.metric_transformation).name &&
      aws_cloudwatch_metric_alarm.app_errors.statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.app_errors.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.app_errors.threshold == 0 &&
      aws_cloudwatch_metric_alarm.app_errors.treat_missing_data == "notBreaching"
    )
    error_message = "The application-errors alarm must fire on any ERROR line (the filter's metric, sum > 0), missing data not breaching."
  }

  assert {
    condition     = !startswith(one(aws_cloudwatch_log_metric_filter.this.metric_transformation).namespace, "AWS/") && strcontains(one(aws_cloudwatch_log_metric_filter.this.metric_transformation).namespace, var.name)
    error_message = "The error metric must be in a custom namespace of this deployment (two stacks in one account must not add up)."
  }
}

run "thresholds_and_operations_are_inputs" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    elb_5xx_threshold             = 20
    target_5xx_threshold          = 30
    unhealthy_minutes             = 10
    latency_p99_threshold_seconds = 2.5
    dynamodb_throttle_threshold   = 50
    dynamodb_operations           = ["GetItem", "PutItem"]
    alarm_actions                 = []
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["elb-5xx"].threshold == 20 && aws_cloudwatch_metric_alarm.simple["target-5xx"].threshold == 30 &&
      aws_cloudwatch_metric_alarm.simple["unhealthy-targets"].evaluation_periods == 10 &&
      aws_cloudwatch_metric_alarm.latency_p99.threshold == 2.5 &&
      aws_cloudwatch_metric_alarm.simple["dynamodb-read-throttles"].threshold == 50 &&
      aws_cloudwatch_metric_alarm.simple["dynamodb-write-throttles"].threshold == 50
    )
    error_message = "The thresholds must come from their variables."
  }

  assert {
    condition     = toset([for q in aws_cloudwatch_metric_alarm.dynamodb_system_errors.metric_query : q.metric[0].dimensions.Operation if !q.return_data]) == toset(["GetItem", "PutItem"])
    error_message = "The system-errors alarm must watch the operations given."
  }

  assert {
    condition = length(aws_cloudwatch_metric_alarm.simple) == 8 && alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.simple), [
      aws_cloudwatch_metric_alarm.latency_p99, aws_cloudwatch_metric_alarm.dynamodb_system_errors,
      aws_cloudwatch_metric_alarm.app_errors,
    ]) : length(a.alarm_actions) == 0 && length(a.ok_actions) == 0])
    error_message = "Without alarm_actions the alarms notify no one (and are still created)."
  }

  assert {
    condition     = length(aws_cloudwatch_event_target.service_events) == 0 && length(output.service_events_topics) == 0
    error_message = "Without alarm_actions the service's events go nowhere."
  }
}

# ECS's events of this service that an on-call engineer must hear of, and only those, go to the
# alarm topics; a delivery that fails for good raises an alarm.
run "failed_deployments_and_task_starts_reach_the_alarm_topics" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.service_events.event_pattern) == {
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Deployment State Change", "ECS Service Action"]
      resources     = ["arn:aws:ecs:eu-west-1:123456789012:service/leave-calendar-cluster/leave-calendar-service"]
      detail        = { eventType = ["WARN", "ERROR"] }
    }
    error_message = "The rule must take the WARN and ERROR deployment and service-action events of this service alone."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.service_events.name == "leave-calendar-service-events" && aws_cloudwatch_event_rule.service_events.tags == var.tags
    error_message = "The rule must be named <name>-service-events (the deploy role manages rules named <name>-*) and tagged."
  }

  assert {
    condition = toset([for t in aws_cloudwatch_event_target.service_events : t.arn]) == toset(var.alarm_actions) && alltrue([
      for t in aws_cloudwatch_event_target.service_events : t.rule == "leave-calendar-service-events" && t.input == null && t.input_path == null && length(t.input_transformer) == 0
    ])
    error_message = "Each alarm topic must get the service's events as ECS wrote them."
  }

  assert {
    condition     = output.service_events_topics == sort(var.alarm_actions)
    error_message = "service_events_topics must list the topics the rule sends to."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].namespace == "AWS/Events" &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].metric_name == "FailedInvocations" &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].dimensions == tomap({ RuleName = "leave-calendar-service-events" }) &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.simple["service-events-undelivered"].treat_missing_data == "notBreaching"
    )
    error_message = "A delivery of the rule that failed for good must raise an alarm (FailedInvocations of the rule above 0)."
  }
}

# A target's id is at most 64 characters, and unique within its rule: two topics of the longest
# name, alike but for their last characters, get two ids that fit.
run "target_ids_fit_and_stay_apart" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alarm_actions = [
      "arn:aws:sns:eu-west-1:123456789012:${join("", [for n in range(32) : "paging-x"])}",
      "arn:aws:sns:eu-west-1:123456789012:${join("", [for n in range(32) : "paging-y"])}",
    ]
  }

  assert {
    condition = length(distinct([for t in aws_cloudwatch_event_target.service_events : t.target_id])) == 2 && alltrue([
      for t in aws_cloudwatch_event_target.service_events : can(regex("^[A-Za-z0-9_.-]{1,64}$", t.target_id))
    ])
    error_message = "Target ids must be 1 to 64 of EventBridge's characters, and differ."
  }
}

# EventBridge sends to a topic of another account only through a role of its own: such a topic
# gets the alarms, and no events.
run "a_topic_of_another_account_gets_the_alarms_not_the_events" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alarm_actions = [
      "arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging",
      "arn:aws:sns:eu-west-1:210987654321:central-paging",
    ]
  }

  assert {
    condition     = output.service_events_topics == tolist(["arn:aws:sns:eu-west-1:123456789012:leave-calendar-paging"])
    error_message = "Only the topic of the service's account may be a target of the rule."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.app_errors.alarm_actions == toset(var.alarm_actions)
    error_message = "Both topics must get the alarms."
  }
}

run "rejects_a_service_arn_that_is_not_a_service" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    service_arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/leave-calendar-cluster"
  }

  expect_failures = [var.service_arn]
}

# The dashboard: the alarms' states, and a graph of every metric an alarm reads, each of this
# stack's load balancer, target group, service, table and rule.
run "the_dashboard_shows_the_alarms_and_what_they_watch" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "leave-calendar" && output.dashboard_name == "leave-calendar"
    error_message = "The dashboard must be named after the deployment."
  }

  assert {
    condition = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : sort(w.properties.alarms) if w.type == "alarm"] == [sort([
      for name in values(output.alarm_names) : "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}"
    ])]
    error_message = "One widget must show the state of the module's eleven alarms, by their ARNs."
  }

  assert {
    condition = length(setsubtract(
      ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "UnHealthyHostCount", "TargetResponseTime", "RunningTaskCount",
      "MemoryUtilization", "ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors", "ErrorLogLines", "FailedInvocations"],
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
        for line in w.properties.metrics : line[1]
      ] if w.type == "metric"])
    )) == 0
    error_message = "Every metric an alarm reads must have a graph."
  }

  assert {
    condition = alltrue(flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
      for line in w.properties.metrics : [
        for i in range(2, length(line) - 1, 2) : line[i] == "Operation" ? contains(var.dynamodb_operations, line[i + 1]) : lookup({
          LoadBalancer = "app/leave-calendar/0123456789abcdef"
          TargetGroup  = "targetgroup/leave-calendar-8080/fedcba9876543210"
          ClusterName  = "leave-calendar-cluster"
          ServiceName  = "leave-calendar-service"
          TableName    = "leave-calendar-leave"
          RuleName     = "leave-calendar-service-events"
        }, line[i], "not a dimension of the stack") == line[i + 1]
      ]
    ] if w.type == "metric"]))
    error_message = "Every graph must show this stack's load balancer, target group, service, table and rule."
  }

  assert {
    condition = alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets :
      w.x + w.width <= 24 && (w.type == "metric") == (try(w.properties.region, null) == "eu-west-1")
    ])
    error_message = "Widgets must fit the dashboard's 24 columns, and graphs read the stack's region."
  }
}

run "no_dashboard_when_disabled" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    enable_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_name == null
    error_message = "enable_dashboard = false must create no dashboard."
  }
}

run "rejects_alarm_actions_that_are_not_sns_topics" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alarm_actions = ["arn:aws:iam::123456789012:role/paging"]
  }

  expect_failures = [var.alarm_actions]
}

run "rejects_an_alarm_action_that_is_not_an_arn" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alarm_actions = ["oncall@example.com"]
  }

  expect_failures = [var.alarm_actions]
}

# CloudWatch accepts at most five actions per state.
run "rejects_more_than_five_alarm_actions" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alarm_actions = [for n in range(6) : "arn:aws:sns:eu-west-1:123456789012:topic-${n}"]
  }

  expect_failures = [var.alarm_actions]
}

run "rejects_an_unknown_dynamodb_operation" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    dynamodb_operations = ["GetItem", "getitem"]
  }

  expect_failures = [var.dynamodb_operations]
}

run "rejects_a_target_group_suffix_for_the_load_balancer" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    alb_arn_suffix = "targetgroup/leave-calendar-8080/fedcba9876543210"
  }

  expect_failures = [var.alb_arn_suffix]
}

run "rejects_a_latency_threshold_beyond_the_request_timeout" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    latency_p99_threshold_seconds = 10
  }

  expect_failures = [var.latency_p99_threshold_seconds]
}

# An existing deployment keeps its alarms: the six alarms that were resources of their own move
# to aws_cloudwatch_metric_alarm.simple (the moved blocks of modules/monitoring) instead of being
# destroyed and created again. The first run applies them at their old addresses (mocked), the
# second plans the module on that state: a moved alarm keeps its ARN; an alarm planned for
# creation would have none yet, and the assertion could not be evaluated.
run "alarms_at_their_old_addresses" {
  command   = apply
  state_key = "moved"

  module {
    source = "./tests/fixtures/monitoring_separate_alarms"
  }
}

run "the_module_keeps_them" {
  command   = plan
  state_key = "moved"

  module {
    source = "./modules/monitoring"
  }

  assert {
    condition     = { for key, alarm in aws_cloudwatch_metric_alarm.simple : key => alarm.arn if !contains(["memory", "service-events-undelivered"], key) } == run.alarms_at_their_old_addresses.arns
    error_message = "Each of the six alarms must keep the alarm it had at its old address (a moved block each), not be created again."
  }
}
