{{- define "ingress-nginx.labels" -}}
app.kubernetes.io/name: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}
{{- define "ingress-nginx.selector" -}}
app.kubernetes.io/name: {{ .Release.Name }}
{{- end }}
