// Package podrun runs one container of a pod of the stamp in a box
// (package stampbox), as cmd/boxpod: Run builds the container's
// filesystem in the pod's namespaces and execs its command; RunStub is the
// stand-in for a program that cannot run on this machine. It imports
// nothing heavy: every container of the box is a process of its own.
package podrun
