{{- define "rd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "rd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rollouts-dashboard
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* basePath without a trailing slash: "" for the root. */}}
{{- define "rd.basePath" -}}
{{- trimSuffix "/" (default "" .Values.basePath) -}}
{{- end -}}

{{/* The address the dashboard listens on: the pod's loopback behind the oauth2-proxy sidecar. */}}
{{- define "rd.address" -}}
{{- if .Values.oauth2Proxy.enabled -}}127.0.0.1{{- else -}}{{ .Values.address }}{{- end -}}
{{- end -}}

{{- define "rd.loopback" -}}
{{- if has (include "rd.address" .) (list "127.0.0.1" "::1" "localhost") -}}true{{- end -}}
{{- end -}}

{{/* Allowed Host names: allowedHosts, else the Ingress host. */}}
{{- define "rd.allowedHosts" -}}
{{- if .Values.allowedHosts -}}
{{- join "," .Values.allowedHosts -}}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}
{{- .Values.ingress.host -}}
{{- end -}}
{{- end -}}

{{/* --auth token: the Secret with the session key, and the revocations ConfigMap. */}}
{{- define "rd.sessionKeySecret" -}}
{{- .Values.auth.token.sessionKey.existingSecret | default (printf "%s-session-key" (include "rd.fullname" .)) -}}
{{- end -}}

{{- define "rd.revocations" -}}
{{- printf "%s-session-revocations" (include "rd.fullname" .) -}}
{{- end -}}

{{/* Where the remote clusters' kubeconfig files are mounted (--kubeconfig-dir). */}}
{{- define "rd.clustersDir" -}}
/etc/rollouts-dashboard/clusters
{{- end -}}

{{/* Refuse combinations the server refuses, or that would be unsafe or never work. */}}
{{- define "rd.validate" -}}
{{- $mode := .Values.auth.mode -}}
{{- if not (has $mode (list "none" "proxy" "token")) -}}
{{- fail (printf "auth.mode must be none, proxy or token (got %q)" $mode) -}}
{{- end -}}
{{- if and (eq $mode "none") (not .Values.readOnly) (not (include "rd.loopback" .)) -}}
{{- fail "auth.mode none with readOnly: false is only allowed on loopback (address: 127.0.0.1, reached with kubectl port-forward): anyone who reaches the dashboard would act with its ServiceAccount. Set readOnly: true, or pick auth.mode proxy or token" -}}
{{- end -}}
{{- if and (eq $mode "proxy") (not .Values.auth.proxy.trusted) (not .Values.auth.proxy.secret.existingSecret) -}}
{{- fail "auth.mode proxy needs auth.proxy.trusted addresses or auth.proxy.secret.existingSecret: otherwise no proxy is believed" -}}
{{- end -}}
{{- if and .Values.oauth2Proxy.enabled (ne $mode "proxy") -}}
{{- fail "oauth2Proxy.enabled needs auth.mode: proxy" -}}
{{- end -}}
{{- if and .Values.oauth2Proxy.enabled .Values.tls.enabled -}}
{{- fail "oauth2Proxy.enabled with tls.enabled: the sidecar talks plain http to the dashboard on loopback; end TLS at the Ingress (ingress.tls) instead" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.enabled needs tls.secretName (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- $files := list -}}
{{- range .Values.remoteClusters -}}
{{- if not .secretName -}}
{{- fail "remoteClusters: every entry needs secretName (an existing Secret holding a kubeconfig)" -}}
{{- end -}}
{{- if not .allKeys -}}
{{- $file := .file | default .secretName -}}
{{- /* The server skips hidden files (a mounted Secret's ..data) and a path must stay in the directory. */ -}}
{{- if not (regexMatch "^[A-Za-z0-9][-._A-Za-z0-9]*$" $file) -}}
{{- fail (printf "remoteClusters: file %q must be a plain file name (letters, digits, '-', '.', '_'; not starting with '.')" $file) -}}
{{- end -}}
{{- if has $file $files -}}
{{- fail (printf "remoteClusters: two entries are mounted as the file %q (set file: on one of them)" $file) -}}
{{- end -}}
{{- $files = append $files $file -}}
{{- end -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (include "rd.loopback" .) -}}
{{- fail "serviceMonitor.enabled: the dashboard listens on the pod's loopback (address 127.0.0.1 or oauth2Proxy.enabled), so Prometheus cannot scrape it" -}}
{{- end -}}
{{- end -}}
