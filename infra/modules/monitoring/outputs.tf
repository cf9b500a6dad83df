output "alarm_names" {
  description = "Names of the alarms, by what they watch."
  value = {
    elb_5xx                  = aws_cloudwatch_metric_alarm.elb_5xx.alarm_name
    target_5xx               = aws_cloudwatch_metric_alarm.target_5xx.alarm_name
    unhealthy_targets        = aws_cloudwatch_metric_alarm.unhealthy_targets.alarm_name
    latency_p99              = aws_cloudwatch_metric_alarm.latency_p99.alarm_name
    running_tasks            = aws_cloudwatch_metric_alarm.running_tasks.alarm_name
    dynamodb_read_throttles  = aws_cloudwatch_metric_alarm.dynamodb_read_throttles.alarm_name
    dynamodb_write_throttles = aws_cloudwatch_metric_alarm.dynamodb_write_throttles.alarm_name
    dynamodb_system_errors   = aws_cloudwatch_metric_alarm.dynamodb_system_errors.alarm_name
    app_errors               = aws_cloudwatch_metric_alarm.app_errors.alarm_name
  }
}

output "alarm_arns" {
  description = "ARNs of the alarms, by what they watch."
  value = {
    elb_5xx                  = aws_cloudwatch_metric_alarm.elb_5xx.arn
    target_5xx               = aws_cloudwatch_metric_alarm.target_5xx.arn
    unhealthy_targets        = aws_cloudwatch_metric_alarm.unhealthy_targets.arn
    latency_p99              = aws_cloudwatch_metric_alarm.latency_p99.arn
    running_tasks            = aws_cloudwatch_metric_alarm.running_tasks.arn
    dynamodb_read_throttles  = aws_cloudwatch_metric_alarm.dynamodb_read_throttles.arn
    dynamodb_write_throttles = aws_cloudwatch_metric_alarm.dynamodb_write_throttles.arn
    dynamodb_system_errors   = aws_cloudwatch_metric_alarm.dynamodb_system_errors.arn
    app_errors               = aws_cloudwatch_metric_alarm.app_errors.arn
  }
}

output "error_metric" {
  description = "Namespace and name of the metric counting the application's ERROR log lines."
  value = {
    namespace = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].namespace
    name      = aws_cloudwatch_log_metric_filter.this.metric_transformation[0].name
  }
}

output "dimensions" {
  description = "What the alarms watch, as the alarms' dimensions: `LoadBalancer`, `TargetGroup` (ARN suffixes), `ClusterName`, `ServiceName`, `TableName`; e.g. for a dashboard."
  value = {
    LoadBalancer = aws_cloudwatch_metric_alarm.elb_5xx.dimensions["LoadBalancer"]
    TargetGroup  = aws_cloudwatch_metric_alarm.unhealthy_targets.dimensions["TargetGroup"]
    ClusterName  = aws_cloudwatch_metric_alarm.running_tasks.dimensions["ClusterName"]
    ServiceName  = aws_cloudwatch_metric_alarm.running_tasks.dimensions["ServiceName"]
    TableName    = aws_cloudwatch_metric_alarm.dynamodb_read_throttles.dimensions["TableName"]
  }
}

output "notified_topics" {
  description = "The SNS topics the alarms notify (on ALARM and on OK), as the alarms have them: `alarm_actions`."
  # The provider reads the actions of an alarm that has none back as null.
  value = sort(distinct(flatten([for a in [
    aws_cloudwatch_metric_alarm.elb_5xx, aws_cloudwatch_metric_alarm.target_5xx,
    aws_cloudwatch_metric_alarm.unhealthy_targets, aws_cloudwatch_metric_alarm.latency_p99,
    aws_cloudwatch_metric_alarm.running_tasks, aws_cloudwatch_metric_alarm.dynamodb_read_throttles,
    aws_cloudwatch_metric_alarm.dynamodb_write_throttles, aws_cloudwatch_metric_alarm.dynamodb_system_errors,
    aws_cloudwatch_metric_alarm.app_errors,
  ] : [for actions in [a.alarm_actions, a.ok_actions] : actions == null ? [] : tolist(actions)]])))
}
