env           = "prod"
user_pool_id  = "us-east-1_ProdPool"
portal_rate   = 1000
portal_burst  = 2000
partner_quota = 100000
