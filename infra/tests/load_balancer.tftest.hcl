# Rules of the load balancer module (issue point 3), in plan mode against a mocked provider.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_security_group" {}
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/lc/0123456789abcdef"
      arn_suffix = "app/lc/0123456789abcdef"
      dns_name   = "lc-123.eu-west-1.elb.amazonaws.com"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lc-app/0123456789abcdef"
      arn_suffix = "targetgroup/lc-app/0123456789abcdef"
    }
  }
}

variables {
  name                  = "lc"
  vpc_id                = "vpc-0123456789abcdef0"
  public_subnet_ids     = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  app_security_group_id = "sg-0123456789abcdef0"
}

run "http_only_without_certificate" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  assert {
    condition     = aws_lb.this.internal == false && aws_lb.this.load_balancer_type == "application" && toset(aws_lb.this.subnets) == toset(var.public_subnet_ids)
    error_message = "The load balancer must be internet-facing, in the public subnets."
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields == true
    error_message = "The load balancer must drop invalid header fields."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == true
    error_message = "Deletion protection must be on by default."
  }

  assert {
    condition     = length(aws_lb.this.access_logs) == 0
    error_message = "Access logs are off without a bucket."
  }

  assert {
    condition     = aws_lb_target_group.this.target_type == "ip" && aws_lb_target_group.this.port == 8080 && aws_lb_target_group.this.protocol == "HTTP"
    error_message = "The target group must be of type ip on the application port."
  }

  # sha256("vpc-0123456789abcdef0:8080") starts with baf8183.
  assert {
    condition     = aws_lb_target_group.this.name == "lc-baf8183" && aws_lb_target_group.this.tags["Name"] == aws_lb_target_group.this.name
    error_message = "The target group's name must be <name>-<first 7 hex digits of sha256(\"<vpc_id>:<app_port>\")>, so that a new VPC or port gets a group of its own."
  }

  assert {
    condition     = aws_lb_target_group.this.health_check[0].path == "/health" && aws_lb_target_group.this.health_check[0].matcher == "200" && aws_lb_target_group.this.health_check[0].enabled
    error_message = "The target group's health check must expect 200 from /health."
  }

  assert {
    condition = (
      aws_lb_target_group.this.health_check[0].interval == 15
      && aws_lb_target_group.this.health_check[0].timeout == 5
      && aws_lb_target_group.this.health_check[0].healthy_threshold == 2
      && aws_lb_target_group.this.health_check[0].unhealthy_threshold == 3
    )
    error_message = "A failing task must leave the rotation within 45 s (3 checks 15 s apart) and a new one join after 2 passing checks."
  }

  assert {
    condition     = aws_lb.this.idle_timeout == 60
    error_message = "Idle client connections must be closed after 60 s by default (the app itself keeps them open longer)."
  }

  assert {
    condition     = aws_lb_target_group.this.deregistration_delay == "20" || aws_lb_target_group.this.deregistration_delay == 20
    error_message = "The deregistration delay must default to 20 s (above the app's 10 s request timeout)."
  }

  assert {
    condition     = aws_lb_listener.http.port == 80 && aws_lb_listener.http.default_action[0].type == "forward" && aws_lb_listener.http.default_action[0].target_group_arn == aws_lb_target_group.this.arn
    error_message = "Without a certificate, HTTP 80 must forward to the target group."
  }

  assert {
    condition     = length(aws_lb_listener.https) == 0
    error_message = "Without a certificate there is no HTTPS listener."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.listener : r.from_port]) == toset([80])
    error_message = "Without HTTPS only port 80 is open."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.to_tasks.referenced_security_group_id == var.app_security_group_id && aws_vpc_security_group_egress_rule.to_tasks.from_port == 8080 && aws_vpc_security_group_egress_rule.to_tasks.to_port == 8080 && aws_vpc_security_group_egress_rule.to_tasks.ip_protocol == "tcp" && aws_vpc_security_group_egress_rule.to_tasks.cidr_ipv4 == null
    error_message = "The load balancer may only send to the tasks' security group on the application port."
  }

  assert {
    condition     = output.url == "http://lc-123.eu-west-1.elb.amazonaws.com"
    error_message = "Without a certificate the URL is http://."
  }
}

run "https_with_certificate" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    certificate_arn            = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    enable_deletion_protection = false
    access_logs_bucket         = "my-alb-logs"
    app_port                   = 9000
  }

  assert {
    condition     = length(aws_lb_listener.https) == 1 && aws_lb_listener.https[0].port == 443 && aws_lb_listener.https[0].protocol == "HTTPS" && aws_lb_listener.https[0].certificate_arn == var.certificate_arn
    error_message = "A certificate must give an HTTPS listener on 443."
  }

  assert {
    condition     = startswith(aws_lb_listener.https[0].ssl_policy, "ELBSecurityPolicy-TLS13-1-2") || startswith(aws_lb_listener.https[0].ssl_policy, "ELBSecurityPolicy-TLS13-1-3")
    error_message = "The HTTPS listener must use a TLS 1.3 policy with TLS 1.2 minimum."
  }

  assert {
    condition     = aws_lb_listener.https[0].default_action[0].type == "forward" && aws_lb_listener.https[0].default_action[0].target_group_arn == aws_lb_target_group.this.arn
    error_message = "HTTPS must forward to the target group."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http.default_action[0].redirect[0].port == "443" && aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"
    error_message = "With a certificate HTTP must redirect permanently to HTTPS."
  }

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.listener : r.from_port]) == toset([80, 443])
    error_message = "With HTTPS ports 80 and 443 are open."
  }

  assert {
    condition     = aws_lb.this.enable_deletion_protection == false
    error_message = "Deletion protection must follow the variable."
  }

  assert {
    condition     = length(aws_lb.this.access_logs) == 1 && aws_lb.this.access_logs[0].bucket == "my-alb-logs" && aws_lb.this.access_logs[0].enabled
    error_message = "A bucket must turn the access logs on."
  }

  assert {
    condition     = aws_lb_target_group.this.port == 9000 && aws_vpc_security_group_egress_rule.to_tasks.from_port == 9000
    error_message = "The target group and the egress rule must follow the application port."
  }

  assert {
    condition     = startswith(aws_lb_target_group.this.name, "lc-") && aws_lb_target_group.this.name != "lc-baf8183"
    error_message = "A new port must give the target group a new name: the replacement is created before the old group is destroyed."
  }

  assert {
    condition     = output.url == "https://lc-123.eu-west-1.elb.amazonaws.com"
    error_message = "With a certificate the URL is https://."
  }
}

# A vpc_cidr change replaces the VPC, and with it the target group (create before destroy): the
# new group must not ask for the name the old one still holds (DuplicateTargetGroupName).
run "a_new_vpc_gets_a_target_group_of_its_own" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    vpc_id = "vpc-0fedcba9876543210"
  }

  assert {
    condition     = startswith(aws_lb_target_group.this.name, "lc-") && aws_lb_target_group.this.name != "lc-baf8183"
    error_message = "Another VPC with the same port must give the target group another name."
  }
}

# The longest name (24 characters) still gives a valid target group name: at most 32 characters
# of letters, digits and `-`, not ending with `-`, and under `<name>-` (the deploy role's pattern).
run "the_longest_name_gives_a_valid_target_group_name" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    name     = "abcdefghijklmnopqrstuvwx"
    app_port = 65535
  }

  assert {
    condition     = length(aws_lb_target_group.this.name) <= 32 && can(regex("^abcdefghijklmnopqrstuvwx-[0-9a-f]+$", aws_lb_target_group.this.name))
    error_message = "The target group's name must fit AWS's 32 characters of letters, digits and `-`, and start with `<name>-`."
  }
}

run "ingress_restricted_to_given_cidrs" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    allowed_ingress_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.listener) == 1 && alltrue([for r in aws_vpc_security_group_ingress_rule.listener : r.cidr_ipv4 == "203.0.113.0/24"])
    error_message = "Listener ingress must come from allowed_ingress_cidrs only: one rule (HTTP) for the one CIDR given."
  }
}

run "web_acl_is_attached_when_given" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    web_acl_arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/lc-acl/a1b2c3d4-5678-90ab-cdef-222222222222"
  }

  assert {
    condition     = length(aws_wafv2_web_acl_association.this) == 1 && aws_wafv2_web_acl_association.this[0].web_acl_arn == var.web_acl_arn
    error_message = "The given web ACL must be associated with the load balancer."
  }
}

# A CloudFront web ACL (scope global) cannot protect a load balancer.
run "rejects_global_web_acl" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    web_acl_arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/lc-acl/a1b2c3d4-5678-90ab-cdef-111111111111"
  }

  expect_failures = [var.web_acl_arn]
}

run "rejects_weak_tls_policy" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ssl_policy      = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}

run "rejects_a_tls13_policy_with_extended_ciphers" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    ssl_policy      = "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06"
  }

  expect_failures = [var.ssl_policy]
}

run "rejects_deregistration_delay_shorter_than_requests" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    deregistration_delay = 5
  }

  expect_failures = [var.deregistration_delay]
}

run "rejects_long_name" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    name = "a-name-that-is-far-too-long-for-an-alb"
  }

  expect_failures = [var.name]
}

run "rejects_bad_ingress_cidr" {
  command = plan

  module {
    source = "./modules/load_balancer"
  }

  variables {
    allowed_ingress_cidrs = ["0.0.0.0/33"]
  }

  expect_failures = [var.allowed_ingress_cidrs]
}
