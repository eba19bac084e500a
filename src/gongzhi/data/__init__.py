"""The data hub: the resource catalogue (政务信息资源目录), Table Schemas, imports scored on the
GB/T 36344 quality dimensions, and immutable dataset versions that can be compared."""
