locals {
  https = var.certificate_arn != null

  listener_ports = local.https ? { http = 80, https = 443 } : { http = 80 }

  ingress_rules = {
    for pair in setproduct(keys(local.listener_ports), var.allowed_ingress_cidrs) :
    "${pair[0]}-${pair[1]}" => { port = local.listener_ports[pair[0]], cidr = pair[1] }
  }

  # A target group's name is unique in the account and region, and AWS can change neither a
  # group's port nor its VPC: a new port, or a new VPC (a vpc_cidr change replaces the VPC),
  # replaces the group, created before the old one is destroyed because a listener and the
  # service hold it until they move to the new one. So the name carries a short hash of the VPC
  # and the port, and the new group never asks for the old one's name. `<name>-` keeps it under
  # the names the GitHub deploy role may manage; 24 + 1 + 7 characters fit the 32 AWS allows.
  target_group_name = "${var.name}-${substr(sha256("${var.vpc_id}:${var.app_port}"), 0, 7)}"
}

# Its description is fixed: AWS cannot change a group's description, so a new one replaces the
# group, and deleting the old one fails while the load balancer's interfaces still use it.
resource "aws_security_group" "this" {
  name        = "${var.name}-alb"
  description = "Load balancer: HTTP/HTTPS from the allowed clients, out only to the tasks"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "listener" {
  for_each = local.ingress_rules

  #checkov:skip=CKV_AWS_260:The load balancer is the public entry point of a web application: port 80 must be open to its clients (it only redirects to HTTPS when a certificate is given). allowed_ingress_cidrs narrows it.
  security_group_id = aws_security_group.this.id
  description       = "${upper(split("-", each.key)[0])} from ${each.value.cidr}"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_tasks" {
  security_group_id            = aws_security_group.this.id
  description                  = "To the tasks on the application port"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = var.app_security_group_id

  tags = var.tags
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is optional (web_acl_arn); AWS WAF costs per rule and request and its rules depend on the threat model of each deployment.
  #checkov:skip=CKV2_AWS_76:Same as CKV2_AWS_28: the web ACL, and so its managed rule groups (Log4j included), is chosen by the operator through web_acl_arn. The application is written in Rust and has no Log4j.
  name                       = var.name
  internal                   = false
  load_balancer_type         = "application"
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.this.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.enable_deletion_protection
  idle_timeout               = var.idle_timeout

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = var.access_logs_prefix
      enabled = true
    }
  }

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.web_acl_arn == null ? 0 : 1

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there traffic stays inside the VPC's private subnets, and the application serves plain HTTP on its port.
  name                 = local.target_group_name
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = var.app_port
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    protocol            = "HTTP"
    path                = var.health_check_path
    port                = "traffic-port"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = local.target_group_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Port 80 serves plain HTTP only when no certificate is given (a first try without a domain); with a certificate it only redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:This is the plain HTTP listener; the HTTPS listener uses a TLS 1.2+/1.3 policy.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.this.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []

      content {
        protocol    = "HTTPS"
        port        = "443"
        status_code = "HTTP_301"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}
