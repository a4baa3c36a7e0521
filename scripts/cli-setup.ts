/**
 * Imported first by every command-line entry point (npm start, report, trace, dlq, redrive, sweep, export,
 * bench, bench:load, cost), before anything creates an AWS SDK client.
 *
 * Under Node.js < 22 the AWS SDK prints a multi-line NodeVersionSupportWarning on every run
 * (@aws-sdk/core emitWarningIfUnsupportedVersion, when the first client is created): a notice
 * about the SDK's future releases, not about anything the command did, and it buried each
 * command's own output. AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED is the SDK's own switch
 * for exactly that notice; every other warning and every error still print. The functions are
 * not affected: they run on Node.js 24 in Lambda, where the SDK prints nothing. Set the variable
 * to anything but "true" to see the notice again.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
