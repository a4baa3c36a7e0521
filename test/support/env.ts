// Runs in every test worker before the tests: quiet logs, a fixed region, no real AWS.
process.env.POWERTOOLS_LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'SILENT';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // Lambda runs Node 22+; the warning is about this machine's Node 20
process.env.POWERTOOLS_METRICS_DISABLED = process.env.TEST_METRICS ?? 'true'; // EMF lines would drown the test output
