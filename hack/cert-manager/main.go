// Command cert-manager-controller runs cert-manager's own certificate controllers, as a plain
// process against one API server, for kopfka's integration tier.
//
// cert-manager's release binary lives in a module of its own (cmd/controller) that the Go module
// proxy does not serve, and its images come from a container registry, which this project cannot
// reach. The main module, which the proxy does serve, has every controller; each registers itself
// with pkg/controller when its package is imported. This main imports the ones that issue from CA
// and SelfSigned issuers and runs them with a single client, the way the release binary does,
// minus what a test's control plane has no use for: leader election, the webhook, ACME, Vault,
// Venafi, the ingress and Gateway shims, the metrics and health servers.
//
//	cert-manager-controller --kubeconfig FILE [--cluster-resource-namespace NS] [-v N]
//	cert-manager-controller --version
//
// It logs to stderr through klog; once every controller's caches have synced it logs "controllers
// ready" (at -v=2 and above), which is what a caller waits for. It exits 0 once its controllers
// have stopped after SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sort"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// The issuer types the issuers and clusterissuers controllers can check and mark Ready.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// The controllers to run, by the names they register under. Without the approver no
// CertificateRequest is ever signed: the issuer controllers wait for its Approved condition.
var controllers = []string{
	issuers.ControllerName,
	clusterissuers.ControllerName,
	approver.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
}

// The release binary's defaults for what its configuration file would otherwise set.
const (
	workers        = 5
	apiQPS         = 20
	apiBurst       = 50
	minimumBackoff = time.Hour
	maximumBackoff = 32 * time.Hour
)

// The message logged once the controllers' caches have synced.
const readyMessage = "controllers ready"

type options struct {
	kubeconfig               string
	clusterResourceNamespace string
}

func parseFlags() options {
	var opts options
	klog.InitFlags(flag.CommandLine)
	flag.StringVar(&opts.kubeconfig, "kubeconfig", "",
		"kubeconfig of the API server to run against (required)")
	flag.StringVar(&opts.clusterResourceNamespace, "cluster-resource-namespace", "kube-system",
		"namespace of the Secrets that ClusterIssuers refer to")
	version := flag.Bool("version", false, "print cert-manager's version and exit")
	flag.Parse()
	if *version {
		fmt.Println(util.VersionInfo().GitVersion)
		os.Exit(0)
	}
	if opts.kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "cert-manager-controller: --kubeconfig is required")
		os.Exit(2)
	}
	return opts
}

func main() {
	opts := parseFlags()
	logf.InitLogs()
	defer logf.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	// After the first signal, a second one kills the process instead of waiting for the shutdown.
	context.AfterFunc(ctx, stop)
	ctx = logf.NewContext(ctx, logf.Log, "controller")

	err := run(ctx, opts)
	if err != nil {
		logf.Log.Error(err, "cert-manager-controller failed")
		logf.FlushLogs()
		os.Exit(1)
	}
	logf.Log.Info("control loops exited")
}

func run(ctx context.Context, opts options) error {
	log := logf.FromContext(ctx)
	log.Info("starting cert-manager controllers", "version", util.VersionInfo().GitVersion,
		"controllers", controllers)

	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         opts.kubeconfig,
		KubernetesAPIQPS:   apiQPS,
		KubernetesAPIBurst: apiBurst,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: opts.clusterResourceNamespace,
		},
		CertificateOptions: controller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: minimumBackoff,
			CertificateRequestMaximumBackoffDuration: maximumBackoff,
		},
	})
	if err != nil {
		return fmt.Errorf("connecting to the API server: %w", err)
	}
	// The informer factories are shared by every context the factory builds.
	shared, err := factory.Build()
	if err != nil {
		return err
	}

	known := controller.Known()
	var skipped []string
	for name := range known {
		if !slices.Contains(controllers, name) {
			skipped = append(skipped, name)
		}
	}
	sort.Strings(skipped)
	log.V(logf.DebugLevel).Info("registered but not run", "controllers", skipped)

	group, groupCtx := errgroup.WithContext(ctx)
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered; did cert-manager rename it?", name)
		}
		loop, err := construct(factory)
		if err != nil {
			return fmt.Errorf("setting up controller %q: %w", name, err)
		}
		group.Go(func() error {
			log.V(logf.InfoLevel).Info("starting controller", "controller", name)
			if err := loop.Run(workers, groupCtx); err != nil {
				return fmt.Errorf("controller %q: %w", name, err)
			}
			return nil
		})
	}

	shared.SharedInformerFactory.Start(groupCtx.Done())
	shared.KubeSharedInformerFactory.Start(groupCtx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(groupCtx.Done())
	group.Go(func() error {
		// Every informer exists by now: the controllers made theirs when they were set up.
		for informer, synced := range shared.SharedInformerFactory.WaitForCacheSync(groupCtx.Done()) {
			if !synced {
				return fmt.Errorf("cache of %v did not sync", informer)
			}
		}
		for informer, synced := range shared.KubeSharedInformerFactory.WaitForCacheSync(groupCtx.Done()) {
			if !synced {
				return fmt.Errorf("cache of %s did not sync", informer)
			}
		}
		log.V(logf.InfoLevel).Info(readyMessage)
		return nil
	})

	err = group.Wait()
	shared.HTTP01ResourceMetadataInformersFactory.Shutdown()
	shared.KubeSharedInformerFactory.Shutdown()
	shared.SharedInformerFactory.Shutdown()
	// A controller stopped by the signal before its caches synced reports that as an error.
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	return nil
}
