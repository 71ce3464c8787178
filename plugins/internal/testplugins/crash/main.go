// Command crash is a test plugin; see testplugins.Crash.
package main

import "github.com/signupflow/signupflow/plugins/internal/testplugins"

func main() { testplugins.Main(testplugins.Crash{}) }
