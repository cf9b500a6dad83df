output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones the subnets are in, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (one per AZ): for the load balancer."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (one per AZ): for the tasks. Available only once the subnets can reach AWS (their route tables, NAT routes and endpoints exist), so that tasks started in them can pull the image and write logs from their first start."
  value       = aws_subnet.private[*].id

  depends_on = [
    aws_route_table_association.private,
    aws_route.private_nat,
    aws_vpc_endpoint.dynamodb,
    aws_vpc_endpoint.s3,
    aws_vpc_endpoint.interface,
    aws_vpc_security_group_ingress_rule.endpoints_https,
  ]
}

output "private_route_table_ids" {
  description = "IDs of the private route tables (one per AZ)."
  value       = aws_route_table.private[*].id
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways (none when `nat_mode` is `none`)."
  value       = aws_nat_gateway.this[*].id
}

output "dynamodb_endpoint_id" {
  description = "ID of the DynamoDB gateway endpoint."
  value       = aws_vpc_endpoint.dynamodb.id
}

output "dynamodb_prefix_list_id" {
  description = "Prefix list of DynamoDB in the region, for security-group egress rules."
  value       = aws_vpc_endpoint.dynamodb.prefix_list_id
}

output "s3_prefix_list_id" {
  description = "Prefix list of S3 in the region when the S3 gateway endpoint exists, else `null`."
  value       = one(aws_vpc_endpoint.s3[*].prefix_list_id)
}

output "endpoints_security_group_id" {
  description = "Security group of the interface endpoints, for the tasks' HTTPS egress, when they exist, else `null`."
  value       = one(aws_security_group.endpoints[*].id)
}

output "interface_endpoint_ids" {
  description = "IDs of the interface endpoints by service (`ecr.api`, `ecr.dkr`, `logs`), empty when not created."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}

output "flow_log_group_name" {
  description = "Name of the VPC flow log group, or `null` when flow logs are off."
  value       = one(aws_cloudwatch_log_group.flow_logs[*].name)
}
