// Command contract is a test plugin; see testplugins.Contract.
package main

import "github.com/signupflow/signupflow/plugins/internal/testplugins"

func main() { testplugins.Main(testplugins.Contract{}) }
