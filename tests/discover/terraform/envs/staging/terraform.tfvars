env          = "staging"
user_pool_id = "us-east-1_StagingPool"
