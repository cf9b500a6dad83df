locals {
  # The table's keys, indexes and TTL attribute: the application's single source of truth.
  table_schema = jsondecode(file("${path.module}/../schema/dynamodb-table.json"))

  # Exactly the DynamoDB calls the application makes (TransactWriteItems is authorised through
  # the per-item actions). The task role and the DynamoDB endpoint policy both use this list.
  dynamodb_actions = [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]

  table_name = coalesce(var.table_name, "${var.name}-leave")

  # Without NAT the tasks can only reach the interface endpoints (inside the VPC) and the
  # gateway endpoints (prefix lists); with NAT they reach AWS's public API addresses.
  private_only = var.nat_mode == "none"

  tags = merge(var.tags, { Application = var.name, ManagedBy = "terraform" })
}

module "network" {
  source = "./modules/network"

  name                       = var.name
  vpc_cidr                   = var.vpc_cidr
  az_count                   = var.az_count
  nat_mode                   = var.nat_mode
  enable_interface_endpoints = var.enable_interface_endpoints
  enable_flow_logs           = var.enable_flow_logs
  flow_logs_kms_key_arn      = var.flow_logs_kms_key_arn
  role_permissions_boundary  = var.role_permissions_boundary
  dynamodb_table_arn         = module.database.table_arn
  dynamodb_actions           = local.dynamodb_actions
  image_repository_arn       = module.registry.repository_arn
  app_log_group_arn          = module.service.log_group_arn
  tags                       = local.tags
}

module "load_balancer" {
  source = "./modules/load_balancer"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  public_subnet_ids          = module.network.public_subnet_ids
  app_port                   = var.app_port
  app_security_group_id      = module.service.security_group_id
  allowed_ingress_cidrs      = var.allowed_ingress_cidrs
  certificate_arn            = var.certificate_arn
  deregistration_delay       = var.deregistration_delay
  enable_deletion_protection = var.enable_deletion_protection
  access_logs_bucket         = var.access_logs_bucket
  web_acl_arn                = var.web_acl_arn
  tags                       = local.tags
}

module "service" {
  source = "./modules/service"

  name                              = var.name
  vpc_id                            = module.network.vpc_id
  private_subnet_ids                = module.network.private_subnet_ids
  alb_security_group_id             = module.load_balancer.security_group_id
  target_group_arn                  = module.load_balancer.target_group_arn
  alb_arn_suffix                    = module.load_balancer.arn_suffix
  target_group_arn_suffix           = module.load_balancer.target_group_arn_suffix
  https_egress_cidr_blocks          = local.private_only ? [] : ["0.0.0.0/0"]
  https_egress_security_group_ids   = local.private_only ? [module.network.endpoints_security_group_id] : []
  https_egress_prefix_list_ids      = local.private_only ? [module.network.dynamodb_prefix_list_id, module.network.s3_prefix_list_id] : []
  image_repository_url              = module.registry.repository_url
  image_repository_arn              = module.registry.repository_arn
  image_digest                      = var.image_digest
  image_tag                         = var.image_tag
  app_port                          = var.app_port
  cpu                               = var.cpu
  memory                            = var.memory
  cpu_architecture                  = var.cpu_architecture
  desired_count                     = var.desired_count
  min_capacity                      = var.min_capacity
  max_capacity                      = var.max_capacity
  health_check_grace_period_seconds = var.health_check_grace_period_seconds
  deployment_5xx_threshold          = var.deployment_alarm_5xx_threshold
  deployment_alarm_rollback         = var.deployment_alarm_rollback
  shutdown_timeout_secs             = var.shutdown_timeout_secs
  stop_timeout                      = var.stop_timeout
  log_retention_days                = var.log_retention_days
  log_kms_key_arn                   = var.log_kms_key_arn
  table_name                        = module.database.table_name
  table_arn                         = module.database.table_arn
  table_kms_key_arn                 = module.database.kms_key_arn
  dynamodb_actions                  = local.dynamodb_actions
  wait_for_steady_state             = var.wait_for_steady_state
  role_permissions_boundary         = var.role_permissions_boundary
  tags                              = local.tags
}

module "database" {
  source = "./modules/database"

  table_name                 = local.table_name
  schema                     = local.table_schema
  enable_deletion_protection = var.enable_deletion_protection
  create_kms_key             = var.create_table_kms_key
  tags                       = local.tags
}

module "monitoring" {
  source = "./modules/monitoring"

  name                          = var.name
  alb_arn_suffix                = module.load_balancer.arn_suffix
  target_group_arn_suffix       = module.load_balancer.target_group_arn_suffix
  cluster_name                  = module.service.cluster_name
  service_name                  = module.service.service_name
  service_arn                   = module.service.service_arn
  min_capacity                  = var.min_capacity
  table_name                    = module.database.table_name
  log_group_name                = module.service.log_group_name
  alarm_actions                 = var.alarm_actions
  elb_5xx_threshold             = var.alarm_elb_5xx_threshold
  target_5xx_threshold          = var.alarm_target_5xx_threshold
  unhealthy_minutes             = var.alarm_unhealthy_minutes
  memory_threshold_percent      = var.alarm_memory_percent
  latency_p99_threshold_seconds = var.alarm_latency_p99_seconds
  dynamodb_throttle_threshold   = var.alarm_dynamodb_throttle_threshold
  enable_dashboard              = var.enable_dashboard
  tags                          = local.tags
}

module "registry" {
  source = "./modules/registry"

  name         = var.name
  keep_images  = var.ecr_keep_images
  force_delete = var.ecr_force_delete
  kms_key_arn  = var.ecr_kms_key_arn
  tags         = local.tags
}

# Warns, on every plan and apply, that the alarms have no one to notify (a check never fails the
# run). Left empty on purpose for a stack that is only tried out.
check "alarms_notify_someone" {
  assert {
    condition     = length(var.alarm_actions) > 0
    error_message = "alarm_actions is empty: the ${length(module.monitoring.alarm_names)} alarms notify no one, and the service's failed deployments go nowhere. Set alarm_actions to an SNS topic (infra/README.md, Alarms)."
  }
}
