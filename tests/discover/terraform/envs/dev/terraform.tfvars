env          = "dev"
user_pool_id = "us-east-1_DevPool"
