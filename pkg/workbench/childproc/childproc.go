// Package childproc starts the local stand-ins' child processes (DynamoDB
// Local's Java, every function's bootstrap) so that nothing outlives the
// tool that started them: each child leads a process group of its own, and
// on Linux the kernel kills it when its parent dies. Workbench only.
package childproc
