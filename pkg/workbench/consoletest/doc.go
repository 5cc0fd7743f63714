// Package consoletest drives the admin console through every workflow in a
// real headless Chromium (package browser) against the local stack (package
// localstack: DynamoDB Local, every function as its real binary behind the
// API Gateway emulator), checking each screen with axe-core. It has no code
// of its own.
package consoletest
