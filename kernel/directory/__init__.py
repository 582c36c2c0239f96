"""The directory of people and the nested groups they belong to, and its provisioning from outside."""
