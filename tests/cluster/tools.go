//go:build tools

// Package tools pins the commands the end-to-end tests build. It is never
// compiled into anything; `go mod tidy` reads the imports to keep go.sum whole.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
