output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service (the resource its EventBridge events name)."
  # The provider's id of a service is its ARN.
  value = aws_ecs_service.this.id
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the application container in the task definition."
  value       = local.container_name
}

output "image" {
  description = "Image reference the task definition runs."
  value       = local.image
}

output "log_group_name" {
  description = "Name of the application's CloudWatch Logs group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the application's log group, without `:*`."
  value       = aws_cloudwatch_log_group.this.arn
}

output "security_group_id" {
  description = "ID of the tasks' security group."
  value       = aws_security_group.this.id
}

output "https_egress" {
  description = "Where the tasks may open HTTPS connections: IPv4 CIDR blocks, security groups (interface endpoints) and prefix lists (gateway endpoints)."
  value = {
    cidr_blocks        = [for rule in aws_vpc_security_group_egress_rule.https_cidr : rule.cidr_ipv4]
    security_group_ids = aws_vpc_security_group_egress_rule.https_security_group[*].referenced_security_group_id
    prefix_list_ids    = aws_vpc_security_group_egress_rule.https_prefix_list[*].prefix_list_id
  }
}

output "task_role_arn" {
  description = "ARN of the role the application runs with."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "ARN of the role ECS uses to pull the image and write logs."
  value       = aws_iam_role.execution.arn
}

output "deployment_alarm_name" {
  description = "The alarm whose 5xx count fails a deployment and rolls the service back."
  value       = aws_cloudwatch_metric_alarm.deployment_5xx.alarm_name
}
