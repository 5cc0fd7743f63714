// Command floor is the hello-world Lambda function the benchmarks measure
// keyward's functions against: aws-lambda-go and nothing else, built with
// the same flags.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() { lambda.Start(func() (string, error) { return "hello", nil }) }
