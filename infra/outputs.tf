output "app_url" {
  description = "URL of the application: `https://domain_name` when a certificate is given, else `http://` and `domain_name` or, without it, the load balancer's DNS name."
  value       = var.domain_name == null ? module.load_balancer.url : "${module.load_balancer.https_enabled ? "https" : "http"}://${var.domain_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer, for a CNAME or alias record."
  value       = module.load_balancer.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the load balancer, for a Route 53 alias record to `alb_dns_name`."
  value       = module.load_balancer.zone_id
}

output "repository_url" {
  description = "ECR repository to push the application image to."
  value       = module.registry.repository_url
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.service.cluster_name
}

output "service_name" {
  description = "Name of the ECS service."
  value       = module.service.service_name
}

output "table_name" {
  description = "Name of the DynamoDB table."
  value       = module.database.table_name
}

output "log_group_name" {
  description = "CloudWatch Logs group of the application."
  value       = module.service.log_group_name
}

output "image" {
  description = "Image reference the service runs."
  value       = module.service.image
}

output "cpu_architecture" {
  description = "CPU architecture of the tasks (`X86_64` or `ARM64`), which the image runs on: a later plan or apply must give the same value (scripts/deploy sets it from `--arch`)."
  value       = var.cpu_architecture
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, by what they watch (their actions are `alarm_actions`)."
  value       = module.monitoring.alarm_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the service (`null` when `enable_dashboard` is false)."
  value       = module.monitoring.dashboard_name
}

output "service_events_rule_arn" {
  description = "ARN of the EventBridge rule that sends the service's failed deployments and failed task starts to `alarm_actions`: each topic's policy must let `events.amazonaws.com` publish with this `aws:SourceArn`."
  value       = module.monitoring.service_events_rule_arn
}

output "task_definition_arn" {
  description = "The task definition this apply deployed; after a rollback the service runs another one."
  value       = module.service.task_definition_arn
}

output "deployment_alarm_name" {
  description = "The alarm that fails a deployment and rolls the service back when the new tasks answer 5xx."
  value       = module.service.deployment_alarm_name
}
