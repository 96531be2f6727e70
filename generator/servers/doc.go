// Package servers is what a test run needs to start real servers and
// stop them: processes in process groups of their own, logged, stopped by
// pid (on failure too) and listed in a pid file for the script that
// started the run; free loopback ports; a throwaway certificate authority.
package servers
