"""The operation model: operations from their schema documents (`operations`), which the API reference pages derive
(`pages`, `schemagen`) and botocore's models complete (`botocore_model`); the job APIs that tie Start, Describe
and Stop together (`job_apis`) and the form of real job ids (`job_ids`). Above the wire, below everything else."""
