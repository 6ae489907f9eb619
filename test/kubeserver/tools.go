//go:build tools

// Package kubeserver pins the programs a Kubernetes test cluster needs,
// so that go.mod and go.sum list everything they are built from. The build
// tag keeps this file out of every build; scripts/build-kubeserver.sh builds
// the programs themselves:
//
//	go build k8s.io/kubernetes/cmd/kube-apiserver
//	go build go.etcd.io/etcd/server/v3
//	go build k8s.io/kubernetes/cmd/kubectl
//
// kubectl is there to apply deploy/ the way operators do (kubectl apply -k).
package kubeserver

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
