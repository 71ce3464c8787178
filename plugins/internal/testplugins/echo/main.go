// Command echo is a test plugin; see testplugins.Echo.
package main

import "github.com/signupflow/signupflow/plugins/internal/testplugins"

func main() { testplugins.Main(&testplugins.Echo{}) }
