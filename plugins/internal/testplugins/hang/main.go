// Command hang is a test plugin; see testplugins.Hang.
package main

import "github.com/signupflow/signupflow/plugins/internal/testplugins"

func main() { testplugins.Main(testplugins.Hang{}) }
