output "dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 hosted zone ID of the load balancer, for an alias record."
  value       = aws_lb.this.zone_id
}

output "url" {
  description = "URL of the load balancer's own DNS name: `https://` when a certificate is given, else `http://`. Over HTTPS a browser accepts it only if the certificate names it, which an ACM certificate cannot: the root's `app_url` then uses its `domain_name`."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch metric dimension)."
  value       = aws_lb.this.arn_suffix
}

output "security_group_id" {
  description = "ID of the load balancer's security group."
  value       = aws_security_group.this.id
}

output "target_group_arn" {
  description = "ARN of the target group the service registers its tasks in. Known only once a listener uses it, because ECS refuses a target group without a load balancer."
  value       = aws_lb_target_group.this.arn

  depends_on = [aws_lb_listener.http, aws_lb_listener.https]
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch metric dimension, and with `arn_suffix` the request-count scaling label)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "https_enabled" {
  description = "Whether the HTTPS listener exists."
  value       = local.https
}
