package dev.splitllm.android;

import java.util.Collection;
import java.util.stream.Collectors;
import javax.annotation.Priority;
import org.robolectric.internal.dependency.DependencyResolver;
import org.robolectric.pluginapi.Sdk;
import org.robolectric.plugins.DefaultSdkProvider;

/**
 * Robolectric's SDK list without the SDKs this JVM cannot run. Robolectric prints a WARN line for
 * each such SDK (36 and 37 need Java 21) on every test class, although robolectric.properties
 * picks SDK 34; offering only runnable SDKs keeps the test log quiet. Found through
 * META-INF/services; the priority puts it ahead of the default provider.
 */
@Priority(1)
public final class SupportedSdkProvider extends DefaultSdkProvider {
    public SupportedSdkProvider(DependencyResolver dependencyResolver) {
        super(dependencyResolver);
    }

    @Override
    public Collection<Sdk> getSdks() {
        return super.getSdks().stream().filter(Sdk::isSupported).collect(Collectors.toList());
    }
}
